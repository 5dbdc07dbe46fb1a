/**
 * The real go command for the Go suites, on a machine of its own: a fresh HOME (its `.netrc`),
 * GOPATH, module cache and build cache in a temporary folder, `GOTOOLCHAIN=local` (no toolchain
 * download), `GOFLAGS=-mod=mod`, and only the GOPROXY/GONOSUMDB/GOSUMDB a test sets. Module zips
 * are built here, as `go mod download` lays them out: every file below `<module>@<version>/`.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { expect } from 'vitest'
import yazl from 'yazl'

export interface GoRun {
  readonly code: number
  /** stdout and stderr together. */
  readonly output: string
}

/**
 * A module zip of `files` (paths inside the module), as a proxy serves it. `raw` entries are
 * written under exactly the names given, hostile ones included (`../x`, `/etc/x`): yazl refuses
 * such names, so they are written under a harmless name of the same length, patched afterwards
 * in the local header and the central directory (a zip's CRC covers the data, not the name).
 */
export async function moduleZip(module: string, version: string, files: Readonly<Record<string, string | Buffer>>, raw: Readonly<Record<string, string | Buffer>> = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const [path, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), `${module}@${version}/${path}`, { mtime: new Date(0) })
  const patches: [string, string][] = []
  for (const [path, content] of Object.entries(raw)) {
    const harmless = path.replace(/^\//, '_').replace(/(^|\/)\.\.(?=\/|$)/g, '$1__').replace(/\/\//g, '/_')
    patches.push([harmless, path])
    zip.addBuffer(Buffer.from(content), harmless, { mtime: new Date(0) })
  }
  zip.end()
  let bytes = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject)
  })
  for (const [harmless, path] of patches) {
    if (harmless === path) continue
    bytes = Buffer.from(bytes.toString('latin1').split(harmless).join(path), 'latin1')
  }
  return bytes
}

/** What uploads a file: the tests' HTTP client. */
export interface Uploader {
  put(path: string, options: { body: Buffer | string; headers?: Record<string, string> }): Promise<{ status: number; text: string }>
}

/**
 * Publishes a module version as `jf go-publish` does: a PUT each of the zip, the go.mod and the
 * info under `/artifactory/api/go/<repo>/<module>/@v/<version>`, with a matrix parameter (kept as
 * a property) and the go.mod in `X-GO-MODULE-CONTENT`. Expects 201 for each.
 */
export async function publishVersion(client: Uploader, repo: string, module: string, version: string, files: Record<string, string>): Promise<void> {
  const base = `/artifactory/api/go/${repo}/${module}/@v/${version}`
  const zip = await moduleZip(module, version, files)
  const info = JSON.stringify({ Version: version, Time: '2026-12-07T10:00:00Z' })
  for (const [ext, body] of [['zip', zip], ['mod', files['go.mod']!], ['info', info]] as const) {
    const response = await client.put(`${base}.${ext};go.source=test`, { body, headers: { 'x-go-module-content': Buffer.from(files['go.mod']!).toString('base64') } })
    expect(response.status, `${ext}: ${response.text}`).toBe(201)
  }
}

/** A library module: its go.mod and one Go file with a function `Hello` returning `greeting`. */
export function libraryFiles(module: string, greeting: string, requires: readonly string[] = []): Record<string, string> {
  const pkg = module.split('/').pop()!.replace(/^v[0-9]+$/, 'lib').replace(/[^a-z0-9]/g, '')
  return {
    'go.mod': `module ${module}\n\ngo 1.19\n${requires.map((r) => `\nrequire ${r}\n`).join('')}`,
    [`${pkg}.go`]: `package ${pkg}\n\n// Hello greets.\nfunc Hello() string { return ${JSON.stringify(greeting)} }\n`,
  }
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']

/** A machine with the go command and its own folders; `close()` removes them. */
export class GoMachine {
  private constructor(
    readonly root: string,
    readonly home: string,
    private readonly baseEnv: NodeJS.ProcessEnv,
  ) {}

  /** This machine's environment, for running other programs (a shell running snippets) on it. */
  get env(): NodeJS.ProcessEnv {
    return { ...this.baseEnv }
  }

  static async create(name: string): Promise<GoMachine> {
    const root = await mkdtemp(join(tmpdir(), `trove-go-${name}-`))
    const home = join(root, 'home')
    await mkdir(home, { recursive: true })
    const env: NodeJS.ProcessEnv = {}
    // The proxy settings too: under .ci/run they point at a closed port, so go reaching past 127.0.0.1 fails.
    for (const key of ['PATH', 'LANG', 'TMPDIR', ...PROXY_VARIABLES]) if (process.env[key] !== undefined) env[key] = process.env[key]
    Object.assign(env, {
      HOME: home,
      GOPATH: join(root, 'gopath'),
      GOMODCACHE: join(root, 'modcache'),
      GOCACHE: join(root, 'gocache'),
      GOTOOLCHAIN: 'local',
      GOFLAGS: '-mod=mod',
      GOENV: join(home, 'go.env'),
      CGO_ENABLED: '0',
    })
    return new GoMachine(root, home, env)
  }

  /** A folder of this machine holding `files`. */
  async folder(name: string, files: Readonly<Record<string, string>> = {}): Promise<string> {
    const dir = join(this.root, name)
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true })
      await writeFile(join(dir, path), content)
    }
    await mkdir(dir, { recursive: true })
    return dir
  }

  /** Writes `~/.netrc` (mode 600), where the go command finds credentials for https hosts. */
  async netrc(host: string, user: string, secret: string): Promise<void> {
    await writeFile(join(this.home, '.netrc'), `machine ${host} login ${user} password ${secret}\n`, { mode: 0o600 })
  }

  /** Empties the module cache (what a fresh CI machine has): go must fetch again. */
  async clearModuleCache(): Promise<void> {
    await this.go(['clean', '-modcache'], this.root)
  }

  /** Runs `go args` in `cwd` with this machine's environment plus `env`. */
  go(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<GoRun> {
    return new Promise((resolve, reject) => {
      const child = spawn('go', [...args], { cwd, env: { ...this.baseEnv, ...env } })
      let output = ''
      child.stdout.on('data', (c: Buffer) => (output += c.toString()))
      child.stderr.on('data', (c: Buffer) => (output += c.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ code: code ?? -1, output })
      })
    })
  }

  async close(): Promise<void> {
    // The module cache is read-only by design: go clean makes it removable.
    await this.go(['clean', '-modcache'], this.root).catch(() => undefined)
    await rm(this.root, { recursive: true, force: true })
  }
}

/** A project (module `example.com/app`) whose main package prints what `imports` say. */
export function appProject(requires: Readonly<Record<string, string>>, imports: Readonly<Record<string, string>>): Record<string, string> {
  const names = Object.keys(imports)
  return {
    'go.mod': `module example.com/app\n\ngo 1.19\n\nrequire (\n${Object.entries(requires).map(([m, v]) => `\t${m} ${v}\n`).join('')})\n`,
    'main.go': [
      'package main',
      '',
      'import (',
      '\t"fmt"',
      ...names.map((alias) => `\t${alias} ${JSON.stringify(imports[alias])}`),
      ')',
      '',
      `func main() { fmt.Println(${names.map((alias) => `${alias}.Hello()`).join(', ')}) }`,
      '',
    ].join('\n'),
  }
}

/** Runs a built program and returns its output. */
export function runProgram(path: string): Promise<string> {
  return new Promise((resolve, reject) => execFile(path, [], { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))))
}
