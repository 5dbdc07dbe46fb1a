/**
 * The npm-family clients as a developer runs them, against a Trove on 127.0.0.1: each with its
 * own HOME, `.npmrc`, cache and store, and none of the `npm_*` variables of the npm that may be
 * running these tests. npm comes with Node.js; pnpm and yarn are Trove's devDependencies (see
 * `clientCommand` in test/helpers/clients.ts).
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** The npm-family clients the conformance suites bind (see {@link ClientHome.run}). */
export type NpmClient = 'npm' | 'pnpm' | 'yarn'

export interface ClientResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** stdout and stderr together, as a terminal shows them. */
  readonly output: string
}

/** The environment without the variables an npm running these tests would pass down. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|NPM_|YARN_|PNPM_|COREPACK_)/.test(key) || key === 'INIT_CWD' || key === 'NODE_OPTIONS') continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/** A developer's machine in miniature: HOME with a `.npmrc`, a cache, a store, work folders. */
export class ClientHome {
  private constructor(readonly root: string) {}

  static async create(): Promise<ClientHome> {
    return new ClientHome(await mkdtemp(join(tmpdir(), 'trove-npm-client-')))
  }

  get home(): string {
    return join(this.root, 'home')
  }

  get npmrc(): string {
    return join(this.home, '.npmrc')
  }

  /** Writes `~/.npmrc`: the lines given plus fresh-cache settings. */
  async writeNpmrc(lines: readonly string[]): Promise<void> {
    await mkdir(this.home, { recursive: true })
    await writeFile(this.npmrc, [...lines, `cache=${join(this.root, 'npm-cache')}`, 'update-notifier=false', 'audit=false', 'fund=false', ''].join('\n'))
  }

  async writeHomeFile(name: string, content: string): Promise<void> {
    await mkdir(this.home, { recursive: true })
    await writeFile(join(this.home, name), content)
  }

  async readNpmrc(): Promise<string> {
    return readFile(this.npmrc, 'utf8')
  }

  /** A new empty folder with the files given (a package to publish, a project to install into). */
  async folder(name: string, files: Readonly<Record<string, string>> = {}): Promise<string> {
    const dir = join(this.root, 'work', name)
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true })
      await writeFile(join(dir, path), content)
    }
    return dir
  }

  /** Where pnpm keeps its store and metadata cache for this home (pass as `--store-dir`/`--cache-dir`). */
  get pnpmDirs(): string[] {
    return [`--store-dir=${join(this.root, 'pnpm-store')}`, `--cache-dir=${join(this.root, 'pnpm-cache')}`]
  }

  /** Throws away every client cache and store: the next install fetches everything again. */
  async clearCaches(): Promise<void> {
    for (const cache of ['npm-cache', 'pnpm-store', 'pnpm-cache', 'yarn-cache']) await rm(join(this.root, cache), { recursive: true, force: true })
  }

  /**
   * Runs a client in `cwd`. `answers` feed interactive prompts: each answer is typed once the
   * output so far matches its prompt (npm reads prompts line by line from a pipe).
   */
  async run(
    client: string,
    args: readonly string[],
    options: { cwd: string; answers?: readonly [RegExp, string][]; timeoutMs?: number; env?: Record<string, string> } = { cwd: this.root },
  ): Promise<ClientResult> {
    const env = cleanEnv({
      HOME: this.home,
      npm_config_userconfig: this.npmrc,
      // pnpm and yarn keep their caches where told, not under the real HOME.
      XDG_CACHE_HOME: join(this.root, 'xdg-cache'),
      XDG_DATA_HOME: join(this.root, 'xdg-data'),
      XDG_CONFIG_HOME: join(this.root, 'xdg-config'),
      YARN_CACHE_FOLDER: join(this.root, 'yarn-cache'),
      CI: 'true', // no progress bars, no interactive surprises
      NO_COLOR: '1',
      ...options.env,
    })
    return new Promise<ClientResult>((resolvePromise, reject) => {
      const child = spawn(client, args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      let output = ''
      const pending = [...(options.answers ?? [])]
      const onOutput = (text: string) => {
        output += text
        while (pending.length > 0 && pending[0]![0].test(output)) child.stdin.write(`${pending.shift()![1]}\n`)
        if (pending.length === 0 && options.answers) child.stdin.end()
      }
      child.stdout.setEncoding('utf8').on('data', (text: string) => ((stdout += text), onOutput(text)))
      child.stderr.setEncoding('utf8').on('data', (text: string) => ((stderr += text), onOutput(text)))
      if (!options.answers) child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolvePromise({ code: code ?? -1, stdout, stderr, output })
      })
    })
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true })
  }
}
