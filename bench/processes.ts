import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { freePort } from '../test/helpers/ports.js'

export { freePort }

/** The admin password of every Trove a benchmark starts, and the Basic header that carries it. */
export const ADMIN_PASSWORD = 'bench-admin-password'
export const ADMIN_AUTH = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`

export const ROOT = resolve(import.meta.dirname, '..')
const START_TIMEOUT_MS = 30_000

/** A server under test, in its own process so that it never shares the client's event loop. */
export class ServerProcess {
  private output = ''
  private readonly exited: Promise<void>

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly child: ChildProcess,
    echoStderr: boolean,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => this.keep(chunk))
    child.stderr?.on('data', (chunk: Buffer) => {
      this.keep(chunk)
      // Trove logs at warn: whatever it says deserves to be seen next to the figures.
      if (echoStderr) process.stderr.write(`[${name}] ${chunk.toString()}`)
    })
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid`)
    return this.child.pid
  }

  /**
   * Spawns `node <args>` (or `command <args>`) and waits (bounded) until `readyPath` answers 200.
   * Its stderr is echoed unless `echoStderr` is false (a server that logs every 404 at error
   * level); what it said last is shown anyway if it fails to start.
   */
  static async start(
    name: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    port: number,
    readyPath: string,
    { command = process.execPath, echoStderr = true, startTimeoutMs = START_TIMEOUT_MS }: { command?: string; echoStderr?: boolean; startTimeoutMs?: number } = {},
  ): Promise<ServerProcess> {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const server = new ServerProcess(name, `http://127.0.0.1:${port}`, child, echoStderr)
    await server.waitUntilReady(readyPath, startTimeoutMs)
    return server
  }

  /** SIGTERM, then SIGKILL if it does not leave within 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGTERM')
    const isGone = await Promise.race([this.exited.then(() => true), sleep(10_000).then(() => false)])
    if (!isGone) {
      this.child.kill('SIGKILL')
      await this.exited
    }
  }

  private keep(chunk: Buffer): void {
    this.output = (this.output + chunk.toString()).slice(-8192)
  }

  private async waitUntilReady(path: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.name} exited during start (${this.child.exitCode ?? this.child.signalCode}):\n${this.output}`)
      }
      try {
        const response = await fetch(this.url + path, { signal: AbortSignal.timeout(2000) })
        await response.arrayBuffer()
        if (response.status === 200) return
      } catch {
        // Not listening yet.
      }
      await sleep(100)
    }
    await this.stop()
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.output}`)
  }
}

/**
 * How Trove is started: the built `dist` when it is at least as new as `src`, else the sources
 * through tsx. With `BENCH_CPU_PROF=<folder>`, every Trove writes a V8 CPU profile there when it
 * stops (`node --cpu-prof`), to find where a figure's time goes.
 */
export async function troveCommand(): Promise<{ args: string[]; label: string }> {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_CPU_PROF)}`] : []
  const command = await troveEntry()
  return { args: [...profile, ...command.args], label: profile.length > 0 ? `${command.label}, profiled into ${profile[1]!.slice(15)}` : command.label }
}

async function troveEntry(): Promise<{ args: string[]; label: string }> {
  const built = join(ROOT, 'dist', 'cli', 'trove.js')
  if (existsSync(built)) {
    const builtAt = (await stat(built)).mtimeMs
    const newest = await newestSource(join(ROOT, 'src'))
    if (newest.mtimeMs <= builtAt) return { args: [built, 'serve'], label: 'dist (built)' }
    return {
      args: ['--import', 'tsx', join(ROOT, 'src', 'cli', 'trove.ts'), 'serve'],
      label: `src via tsx (dist is older than ${newest.path.slice(ROOT.length + 1)}; run npm run build to bench the build)`,
    }
  }
  return { args: ['--import', 'tsx', join(ROOT, 'src', 'cli', 'trove.ts'), 'serve'], label: 'src via tsx (no dist)' }
}

async function newestSource(dir: string): Promise<{ path: string; mtimeMs: number }> {
  let newest = { path: dir, mtimeMs: 0 }
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue
    const path = join(entry.parentPath, entry.name)
    const { mtimeMs } = await stat(path)
    if (mtimeMs > newest.mtimeMs) newest = { path, mtimeMs }
  }
  return newest
}


/** Environment for a child: ours without any TROVE_* (a developer's own settings must not leak in). */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TROVE_'))), ...extra }
}

/** Resident set size of a process, from /proc/<pid>/status (Linux), in bytes. */
export async function residentBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(match[1]) * 1024
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat (Linux). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100

/**
 * Share of the last minute during which runnable tasks waited for a CPU (Linux pressure stall
 * information), in percent; undefined where the kernel does not report it.
 */
export async function cpuPressure(): Promise<number | undefined> {
  try {
    const match = /^some avg10=[\d.]+ avg60=([\d.]+)/m.exec(await readFile('/proc/pressure/cpu', 'utf8'))
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

/** Resets the kernel's peak-RSS mark (VmHWM) of a process; false where the kernel refuses. */
export async function resetPeakResident(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** Samples VmRSS every `intervalMs` until stopped; reports the highest value seen. */
export function sampleResident(pid: number, intervalMs: number): { stop(): Promise<{ peak: number; samples: number }> } {
  let peak = 0
  let samples = 0
  let isStopped = false
  const loop = (async () => {
    while (!isStopped) {
      try {
        peak = Math.max(peak, await residentBytes(pid))
        samples++
      } catch {
        // The process is gone; the caller finds out from its request.
      }
      await sleep(intervalMs)
    }
  })()
  return {
    async stop() {
      isStopped = true
      await loop
      return { peak, samples }
    },
  }
}

/**
 * Starts Trove as a child process on a free port of 127.0.0.1, its data in `dataDir`, quiet logs,
 * and waits until it is ready. `env` adds settings (`TROVE_*`).
 */
export async function startTroveProcess(options: {
  readonly name?: string
  readonly args: readonly string[]
  readonly dataDir: string
  readonly env?: Record<string, string>
}): Promise<ServerProcess> {
  const port = await freePort()
  const env = childEnv({
    TROVE_DATA_DIR: options.dataDir,
    TROVE_HOST: '127.0.0.1',
    TROVE_PORT: String(port),
    TROVE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    TROVE_LOG_LEVEL: 'warn',
    TROVE_WORKERS: '1',
    ...options.env,
  })
  // A node of workers loads the code in each of its processes.
  const isSeveral = Number(env.TROVE_WORKERS) > 1
  return ServerProcess.start(options.name ?? 'trove', options.args, env, port, '/api/v1/system/readiness', { startTimeoutMs: isSeveral ? 180_000 : undefined })
}
