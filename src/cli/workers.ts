import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import type { TroveConfig } from '../config/config.js'
import { WAKE_JOBS, type ProcessRole } from '../main.js'

/** A worker that exits with this code cannot run with this configuration: restarting it is futile. */
export const CONFIG_EXIT_CODE = 2
/** A worker that keeps dying is restarted after a back-off growing to this. */
const MAX_RESTART_DELAY_MS = 30_000
/** Deaths within this window count towards the back-off. */
const RESTART_WINDOW_MS = 60_000

/** The role `trove serve` gave this process, when it is one of its workers. */
export function workerRole(env: NodeJS.ProcessEnv = process.env): ProcessRole | undefined {
  if (!cluster.isWorker) return undefined
  if (env.TROVE_WORKER_ROLE === 'jobs') return { role: 'jobs' }
  return { role: 'serve', index: Number(env.TROVE_WORKER_INDEX ?? 0), count: Number(env.TROVE_WORKER_COUNT ?? 1) }
}

/**
 * The primary of `trove serve` with several workers: starts `config.workers` serving processes on
 * the one port (node:cluster hands them the connections) and one that runs the background jobs,
 * restarts any that dies, passes the serving workers' wake-ups to the jobs process, and at SIGTERM
 * (or SIGINT) has every worker drain, then exits. Resolves to the exit code.
 */
export function runPrimary(config: TroveConfig, logger: Logger): Promise<number> {
  const roles = new Map<Worker, ProcessRole>()
  const deaths: number[] = []
  let jobsWorker: Worker | undefined
  let isClosing = false
  let exitCode = 0
  let resolveExit: (code: number) => void = () => {}
  const exited = new Promise<number>((resolve) => (resolveExit = resolve))

  const fork = (role: ProcessRole) => {
    const worker = cluster.fork({
      TROVE_WORKER_ROLE: role.role,
      ...(role.role === 'serve' ? { TROVE_WORKER_INDEX: String(role.index), TROVE_WORKER_COUNT: String(role.count) } : {}),
    })
    roles.set(worker, role)
    if (role.role === 'jobs') jobsWorker = worker
  }

  const closeAll = (signal: NodeJS.Signals) => {
    if (isClosing) return
    isClosing = true
    logger.info({ signal, workers: roles.size }, 'shutting down: every worker drains')
    for (const worker of roles.keys()) worker.process.kill('SIGTERM')
    // A worker that does not finish its drain in time is killed.
    const limitMs = (config.cluster.drainDelaySecs + config.cluster.drainTimeoutSecs + 10) * 1000
    setTimeout(() => {
      for (const worker of roles.keys()) worker.process.kill('SIGKILL')
    }, limitMs).unref()
    if (roles.size === 0) resolveExit(exitCode)
  }

  cluster.on('message', (_worker, message: unknown) => {
    if ((message as { trove?: unknown } | null)?.trove === WAKE_JOBS && jobsWorker?.isConnected()) jobsWorker.send({ trove: WAKE_JOBS })
  })
  cluster.on('exit', (worker, code, signal) => {
    const role = roles.get(worker)
    roles.delete(worker)
    if (jobsWorker === worker) jobsWorker = undefined
    if (isClosing) {
      if (code !== 0 && code !== null) exitCode = 1
      if (roles.size === 0) resolveExit(exitCode)
      return
    }
    if (code === CONFIG_EXIT_CODE) {
      // Said by the worker on stderr (e.g. another node on the same SQLite database).
      exitCode = CONFIG_EXIT_CODE
      closeAll('SIGTERM')
      return
    }
    if (role === undefined) return
    const now = Date.now()
    deaths.push(now)
    while (deaths.length > 0 && deaths[0]! < now - RESTART_WINDOW_MS) deaths.shift()
    const delayMs = Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** (deaths.length - 1))
    logger.error({ workerPid: worker.process.pid, role: role.role, code, signal, restartInMs: delayMs }, `a ${role.role} worker died; it is restarted`)
    setTimeout(() => {
      if (!isClosing) fork(role)
    }, delayMs)
  })
  process.on('SIGTERM', () => closeAll('SIGTERM'))
  process.on('SIGINT', () => closeAll('SIGINT'))

  const count = config.workers
  // The jobs process starts once every serving worker listens: they load first, not all at once.
  let listening = 0
  const onListening = () => {
    if (++listening < count) return
    cluster.off('listening', onListening)
    if (!isClosing) fork({ role: 'jobs' })
  }
  cluster.on('listening', onListening)
  for (let index = 0; index < count; index++) fork({ role: 'serve', index, count })
  logger.info({ workers: count, port: config.port }, `Trove starts ${count} serving workers and one for background jobs`)
  return exited
}
