/**
 * A home for the real `gem` and `bundle`: HOME, GEM_HOME and bundler's settings in a temporary
 * folder, no default source (every command names Trove), and gems built from a tiny gemspec
 * with `gem build`.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly output: string
}

export interface BuiltGem {
  readonly file: string
  readonly bytes: Buffer
  readonly name: string
  readonly version: string
}

export class GemHome {
  private constructor(readonly root: string) {}

  static async create(): Promise<GemHome> {
    const root = await mkdtemp(join(tmpdir(), 'trove-gems-'))
    const home = new GemHome(root)
    await mkdir(home.path('home/.gem'), { recursive: true })
    await mkdir(home.path('gem-home'), { recursive: true })
    // No source but those a command names: never a public gem server.
    await writeFile(home.path('home/.gemrc'), '---\n:sources: []\n:update_sources: false\n')
    return home
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts)
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.path('home'),
      GEM_HOME: this.path('gem-home'),
      GEM_PATH: this.path('gem-home'),
      GEM_SPEC_CACHE: this.path('spec-cache'),
      BUNDLE_USER_HOME: this.path('home/.bundle'),
      BUNDLE_APP_CONFIG: this.path('bundle-config'),
      BUNDLE_PATH: this.path('bundle-path'),
      BUNDLE_DISABLE_VERSION_CHECK: 'true',
      BUNDLE_SILENCE_ROOT_WARNING: 'true',
      BUNDLE_RETRY: '0',
      LANG: 'C.UTF-8',
      ...extra,
    }
  }

  run(command: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(command, [...args], { cwd: options.cwd ?? this.root, env: this.env(options.env), timeout: 180_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0
        resolve({ code, stdout: String(stdout), stderr: String(stderr), output: `${stdout}${stderr}` })
      })
    })
  }

  gem(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
    return this.run('gem', args, options)
  }

  /**
   * Builds `<name>-<version>.gem` whose lib/<name>.rb sets VALUE, with runtime dependencies `deps`
   * (`name`, requirement) and, with `padding`, that many random bytes in lib/<name>.bin.
   */
  async build(name: string, version: string, value: string, deps: readonly (readonly [string, string])[] = [], padding = 0): Promise<BuiltGem> {
    const dir = this.path('build', `${name}-${version}-${Math.random().toString(36).slice(2)}`)
    await mkdir(join(dir, 'lib'), { recursive: true })
    const module = name.replace(/(^|[-_])([a-z])/g, (_m, _s, c: string) => c.toUpperCase())
    await writeFile(join(dir, 'lib', `${name}.rb`), `module ${module}\n  VALUE = ${JSON.stringify(value)}\nend\n`)
    if (padding > 0) await writeFile(join(dir, 'lib', `${name}.bin`), randomBytes(padding))
    const spec = [
      'Gem::Specification.new do |s|',
      `  s.name = ${JSON.stringify(name)}`,
      `  s.version = ${JSON.stringify(version)}`,
      '  s.summary = "A test gem"',
      '  s.authors = ["Trove tests"]',
      '  s.license = "MIT"',
      `  s.files = ["lib/${name}.rb"${padding > 0 ? `, "lib/${name}.bin"` : ''}]`,
      ...deps.map(([dep, requirement]) => `  s.add_runtime_dependency ${JSON.stringify(dep)}, ${JSON.stringify(requirement)}`),
      'end',
    ].join('\n')
    await writeFile(join(dir, `${name}.gemspec`), spec)
    const built = await this.gem(['build', `${name}.gemspec`], { cwd: dir })
    if (built.code !== 0) throw new Error(`gem build failed: ${built.output}`)
    const file = join(dir, `${name}-${version}.gem`)
    return { file, bytes: await readFile(file), name, version }
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true })
  }
}
