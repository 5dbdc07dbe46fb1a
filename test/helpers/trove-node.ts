import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './ports.js'

const ROOT = resolve(import.meta.dirname, '../..')
const START_TIMEOUT_MS = 90_000

/**
 * `trove serve` as a child process on 127.0.0.1 (SIGKILL reaches the server itself: no wrapper
 * process). The port is kept across restarts, so a load balancer's upstream list stays valid.
 */
export class TroveNode {
  private output = ''
  private child: ChildProcess | undefined
  private exited: Promise<number | null> = Promise.resolve(null)

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly startTimeoutMs = START_TIMEOUT_MS,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** The last lines the process wrote (for failure messages). */
  get log(): string {
    return this.output
  }

  get isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** Starts a node with `env` (TROVE_* settings) and waits until its readiness answers 200. */
  static async start(name: string, env: Record<string, string>, options: { port?: number; startTimeoutMs?: number } = {}): Promise<TroveNode> {
    const node = new TroveNode(name, options.port ?? (await freePort()), env, options.startTimeoutMs)
    await node.restart()
    return node
  }

  /** Starts the process (again, after {@link kill} or {@link stop}) and waits until it is ready. */
  async restart(): Promise<void> {
    this.spawn()
    await this.waitUntilReady()
  }

  /** Starts the process without waiting; resolves to its exit code when it exits. */
  spawn(): Promise<number | null> {
    const trovePrefix = /^TROVE_/
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/trove.ts', 'serve'], {
      cwd: ROOT,
      env: {
        // The developer's own TROVE_* settings must not leak into the test server.
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !trovePrefix.test(name))),
        TROVE_HOST: '127.0.0.1',
        TROVE_PORT: String(this.port),
        TROVE_LOG_LEVEL: 'warn',
        // One process, unless a test asks for workers (TROVE_WORKERS).
        TROVE_WORKERS: '1',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-16_384)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.child = child
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    return this.exited
  }

  /** kill -9; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.isRunning) this.child!.kill('SIGKILL')
    await this.exited
  }

  /** SIGTERM (a drain); resolves to the exit code, or kills it after `timeoutMs` and resolves to null. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (!this.isRunning) return this.exited
    this.child!.kill('SIGTERM')
    const code = await Promise.race([this.exited, sleep(timeoutMs).then(() => 'timeout' as const)])
    if (code !== 'timeout') return code
    await this.kill()
    return null
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs
    while (Date.now() < deadline) {
      if (!this.isRunning) throw new Error(`${this.name} exited during start (${this.child?.exitCode ?? this.child?.signalCode}):\n${this.output}`)
      try {
        const response = await fetch(`${this.url}/api/v1/system/readiness`, { signal: AbortSignal.timeout(2000) })
        await response.arrayBuffer()
        if (response.status === 200) return
      } catch {
        // Not listening yet.
      }
      await sleep(100)
    }
    await this.kill()
    throw new Error(`${this.name} was not ready within ${this.startTimeoutMs} ms:\n${this.output}`)
  }
}
