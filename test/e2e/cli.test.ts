import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, metadataBackends, type TestDatabase } from '../helpers/postgres.js'
import { basicAuth } from '../helpers/server.js'

const ROOT = resolve(import.meta.dirname, '../..')
const STARTUP_TIMEOUT_MS = 30_000
const EXIT_TIMEOUT_MS = 15_000

interface RunningCli {
  readonly process: ChildProcess
  output(): string
  stderr(): string
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>
}

const children: RunningCli[] = []

/** Runs `trove <args>` from the sources, as `npm start` would after a build, with only the given environment. */
function trove(args: readonly string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/trove.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), TROVE_WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  const running: RunningCli = { process: child, output: () => stdout + stderr, stderr: () => stderr, exited }
  children.push(running)
  return running
}

/** Waits for the one line announcing the URL; fails with the output if the process ends or takes too long. */
async function listeningUrl(cli: RunningCli): Promise<string> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  let hasExited = false
  void cli.exited.then(() => (hasExited = true))
  while (Date.now() < deadline) {
    const match = /Trove listening on (http:\/\/[^\s"]+)/.exec(cli.output())
    if (match) return match[1]!
    if (hasExited) throw new Error(`trove exited before listening (code ${String(await cli.exited)}):\n${cli.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`trove did not report listening within ${STARTUP_TIMEOUT_MS} ms:\n${cli.output()}`)
}

/** Resolves with the exit code, or fails if the process is still running after the timeout. */
async function exitCode(cli: RunningCli): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`trove did not exit within ${EXIT_TIMEOUT_MS} ms:\n${cli.output()}`)), EXIT_TIMEOUT_MS)
  })
  try {
    return await Promise.race([cli.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function stop(cli: RunningCli): Promise<void> {
  cli.process.kill('SIGTERM')
  expect(await exitCode(cli)).toBe(0)
}

const usersStatus = async (url: string, auth: string) =>
  (await fetch(`${url}/artifactory/api/security/users`, { headers: { authorization: auth } })).status

afterEach(async () => {
  for (const cli of children.splice(0)) {
    if (cli.process.exitCode === null && cli.process.signalCode === null) {
      cli.process.kill('SIGKILL')
      await cli.exited
    }
  }
})

const backends = await metadataBackends()

describe.each(backends)('trove serve (%s)', (backend) => {
  let dataDir: string
  let database: TestDatabase | undefined
  let env: Record<string, string>

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'trove-cli-'))
    database = backend === 'postgres' ? await createTestDatabase() : undefined
    env = {
      TROVE_DATA_DIR: dataDir,
      TROVE_HOST: '127.0.0.1',
      TROVE_PORT: '0',
      ...(database ? { TROVE_DATABASE_URL: database.url } : {}),
    }
  })

  afterAll(async () => {
    await database?.drop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('starts, announces its URL in one line, generates the admin password once, and stops on SIGTERM', async () => {
    // 1. First start: one line tells the URL, the generated admin password is written to a private file.
    const first = trove(['serve'], env)
    const url = await listeningUrl(first)
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(first.output().split('\n').filter((line) => line.includes('listening'))).toHaveLength(1)

    const file = join(dataDir, 'admin.password')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const password = (await readFile(file, 'utf8')).trim()
    expect(password.length).toBeGreaterThanOrEqual(16)
    // Printed once, on this first start.
    expect(first.output()).toContain(password)
    expect(await usersStatus(url, basicAuth('admin', password))).toBe(200)
    expect(await usersStatus(url, basicAuth('admin', `${password}x`))).toBe(401)
    const ping = await fetch(`${url}/artifactory/api/system/ping`)
    expect(await ping.text()).toBe('OK')

    // 2. SIGTERM: a clean exit.
    await stop(first)
    expect(first.output()).toContain('shutting down')

    // 3. Second start on the same data: the password is neither regenerated nor announced again.
    const second = trove(['serve'], env)
    const secondUrl = await listeningUrl(second)
    expect((await readFile(file, 'utf8')).trim()).toBe(password)
    expect(second.output()).not.toContain('generated password')
    expect(second.output()).not.toContain(password)
    expect(await usersStatus(secondUrl, basicAuth('admin', password))).toBe(200)
    await stop(second)
  })
})

describe('trove serve configuration', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trove-cli-config-'))
  })

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('honours --config, taking the admin password from it', async () => {
    const dataDir = join(dir, 'from-yaml')
    const file = join(dir, 'trove.yaml')
    await writeFile(file, [`host: 127.0.0.1`, `port: 0`, `dataDir: ${dataDir}`, `adminPassword: yaml-admin-password`, `log:`, `  level: info`].join('\n'))
    const cli = trove(['serve', '--config', file], {})
    const url = await listeningUrl(cli)
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await usersStatus(url, basicAuth('admin', 'yaml-admin-password'))).toBe(200)
    // Given, not generated: nothing written, nothing printed.
    await expect(stat(join(dataDir, 'admin.password'))).rejects.toThrow(/ENOENT/)
    expect(cli.output()).not.toContain('yaml-admin-password')
    expect((await stat(join(dataDir, 'trove.db'))).isFile()).toBe(true)
    await stop(cli)
  })

  it('honours TROVE_CONFIG, with environment variables over the file', async () => {
    const dataDir = join(dir, 'from-env')
    const file = join(dir, 'env.yaml')
    await writeFile(file, [`host: 127.0.0.1`, `port: 1`, `dataDir: ${dataDir}`, `adminPassword: env-yaml-password`].join('\n'))
    const cli = trove(['serve'], { TROVE_CONFIG: file, TROVE_PORT: '0' })
    const url = await listeningUrl(cli)
    expect(await usersStatus(url, basicAuth('admin', 'env-yaml-password'))).toBe(200)
    await stop(cli)
  })

  it.each([
    ['a bad environment variable', [] as string[], { TROVE_PORT: 'abc' }, /TROVE_PORT/],
    ['an unknown key in the file', ['--config', 'BAD_YAML'], {}, /colour/],
    ['a missing file', ['--config', 'MISSING_YAML'], {}, /cannot read configuration file/],
  ])('exits with code 2 and a clear message on %s', async (_what, args, env, message) => {
    const bad = join(dir, 'bad.yaml')
    await writeFile(bad, 'port: 0\ncolour: blue\n')
    const resolved = args.map((a) => (a === 'BAD_YAML' ? bad : a === 'MISSING_YAML' ? join(dir, 'missing.yaml') : a))
    const cli = trove(['serve', ...resolved], { TROVE_DATA_DIR: join(dir, 'never'), TROVE_HOST: '127.0.0.1', ...env })
    expect(await exitCode(cli)).toBe(2)
    expect(cli.stderr()).toMatch(/^trove: /)
    expect(cli.stderr()).toMatch(message)
    // A usage error, not a crash: no stack trace.
    expect(cli.stderr()).not.toMatch(/\n\s+at /)
    expect(cli.output()).not.toContain('listening')
    await expect(stat(join(dir, 'never'))).rejects.toThrow(/ENOENT/)
  })

  it('warns about an unknown TROVE_* variable but starts', async () => {
    const cli = trove(['serve'], { TROVE_DATA_DIR: join(dir, 'warned'), TROVE_HOST: '127.0.0.1', TROVE_PORT: '0', TROVE_FOO: 'bar' })
    await listeningUrl(cli)
    expect(cli.output()).toContain('TROVE_FOO')
    await stop(cli)
  })
})
