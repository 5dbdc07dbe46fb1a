/**
 * The real `cargo` against Trove: a sandbox with its own CARGO_HOME and HOME (nothing of the
 * user's cargo setup is read), a `.cargo/config.toml` that names Trove's registries and replaces
 * Cargo's default source with Trove (so cargo never reaches out to the public registry), and
 * crates written by the test.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

export interface CargoRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface CargoRegistry {
  /** The name in config.toml (`[registries.<name>]`). */
  readonly name: string
  /** `http://127.0.0.1:<port>/artifactory/api/cargo/<repo>/index/` */
  readonly indexUrl: string
  readonly token?: string | undefined
}

export interface CargoDependency {
  readonly name: string
  readonly version: string
  /** The registry's name; absent: the default source (crates-io, replaced by Trove). */
  readonly registry?: string | undefined
}

/** The sparse index URL of a Trove Cargo repository. */
export function cargoIndexUrl(serverUrl: string, repo: string): string {
  return `${serverUrl}/artifactory/api/cargo/${repo}/index/`
}

export class CargoSandbox {
  private constructor(
    readonly root: string,
    private registries: readonly CargoRegistry[],
    /** The registry that stands in for Cargo's default source (crates-io), if any. */
    private mirror: CargoRegistry | undefined,
  ) {}

  static async create(registries: readonly CargoRegistry[], mirror?: CargoRegistry): Promise<CargoSandbox> {
    const root = await mkdtemp(join(tmpdir(), 'trove-cargo-'))
    await mkdir(join(root, 'home', '.cargo'), { recursive: true })
    const sandbox = new CargoSandbox(root, registries, mirror)
    await sandbox.writeConfig()
    return sandbox
  }

  get cargoHome(): string {
    return join(this.root, 'home', '.cargo')
  }

  /** Replaces the registries (and mirror) that the config names. */
  async configure(registries: readonly CargoRegistry[], mirror?: CargoRegistry): Promise<void> {
    this.registries = registries
    this.mirror = mirror
    await this.writeConfig()
  }

  private async writeConfig(): Promise<void> {
    const lines: string[] = []
    for (const r of this.registries) lines.push(`[registries.${r.name}]`, `index = "sparse+${r.indexUrl}"`, '')
    // Never the public registry: the default source is replaced by a Trove registry (cargo takes a
    // registry's name in replace-with), or by one that does not exist.
    const mirror = this.mirror ?? { name: 'nowhere', indexUrl: 'http://127.0.0.1:9/nowhere/' }
    const named = this.registries.find((r) => r.indexUrl === mirror.indexUrl)
    if (!named) lines.push(`[registries.${mirror.name}]`, `index = "sparse+${mirror.indexUrl}"`, '')
    lines.push('[source.crates-io]', `replace-with = "${named?.name ?? mirror.name}"`, '')
    lines.push('[registry]', 'global-credential-providers = ["cargo:token"]', '', '[net]', 'retry = 0', '', '[term]', 'color = "never"', '')
    await writeFile(join(this.cargoHome, 'config.toml'), lines.join('\n'))
  }

  /** Writes a library crate at `<root>/<dir>` and returns its folder. */
  async writeCrate(name: string, version: string, options: { deps?: readonly CargoDependency[]; dir?: string; body?: string; features?: string } = {}): Promise<string> {
    const dir = join(this.root, options.dir ?? `${name}-${version}`)
    await mkdir(join(dir, 'src'), { recursive: true })
    const deps = (options.deps ?? []).map((d) => `${d.name} = { version = "${d.version}"${d.registry ? `, registry = "${d.registry}"` : ''} }`)
    await writeFile(
      join(dir, 'Cargo.toml'),
      [
        '[package]',
        `name = "${name}"`,
        `version = "${version}"`,
        'edition = "2021"',
        `description = "${name}, a test crate"`,
        'license = "MIT"',
        '',
        '[dependencies]',
        ...deps,
        '',
        ...(options.features ? ['[features]', options.features, ''] : []),
      ].join('\n'),
    )
    await writeFile(join(dir, 'src', 'lib.rs'), options.body ?? `pub fn ${name.replace(/-/g, '_')}() -> &'static str { "${name} ${version}" }\n`)
    return dir
  }

  /** Writes a binary project depending on `deps` and returns its folder. */
  async writeApp(dir: string, deps: readonly CargoDependency[], main: string): Promise<string> {
    const path = join(this.root, dir)
    await mkdir(join(path, 'src'), { recursive: true })
    const lines = deps.map((d) => `${d.name} = { version = "${d.version}"${d.registry ? `, registry = "${d.registry}"` : ''} }`)
    await writeFile(join(path, 'Cargo.toml'), ['[package]', `name = "${dir}"`, 'version = "0.1.0"', 'edition = "2021"', '', '[dependencies]', ...lines, ''].join('\n'))
    await writeFile(join(path, 'src', 'main.rs'), main)
    return path
  }

  /** Runs cargo in `cwd` with this sandbox's homes; tokens by registry name as cargo reads them from the environment. */
  run(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CargoRun> {
    const tokens: Record<string, string> = {}
    for (const r of [...this.registries, ...(this.mirror ? [this.mirror] : [])]) {
      if (r.token) tokens[`CARGO_REGISTRIES_${r.name.toUpperCase().replace(/-/g, '_')}_TOKEN`] = r.token
    }
    const base: NodeJS.ProcessEnv = {
      ...proxySettings(),
      PATH: process.env.PATH,
      HOME: join(this.root, 'home'),
      CARGO_HOME: this.cargoHome,
      CARGO_TARGET_DIR: join(this.root, 'target'),
      CARGO_TERM_COLOR: 'never',
      CARGO_HTTP_TIMEOUT: '60',
      // cargo is often rustup's proxy, which finds its toolchains under the real home.
      RUSTUP_HOME: process.env.RUSTUP_HOME ?? join(homedir(), '.rustup'),
    }
    return new Promise((resolve) => {
      execFile('cargo', [...args], { cwd, timeout: 300_000, env: { ...base, ...tokens, ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0, stdout, stderr }),
      )
    })
  }

  async close(): Promise<void> {
    await rm(this.root, { recursive: true, force: true })
  }
}

/**
 * The proxy variables of the environment, passed on to cargo: CI points them at a port where
 * nothing listens (every host but loopback), so that a cargo that tried to reach a public
 * registry would fail there rather than download.
 */
export function proxySettings(): NodeJS.ProcessEnv {
  const names = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy']
  return Object.fromEntries(names.flatMap((name) => (process.env[name] !== undefined ? [[name, process.env[name]]] : [])))
}
