/**
 * Composer packages built by the tests, and the real `composer` client run on a machine of its
 * own: HOME, COMPOSER_HOME and the cache in a temporary folder, the project's only repository
 * Trove (Composer's default public repository disabled), so nothing reaches out.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { zipOf, type ZipItem } from './scan-archives.js'

export interface PackageSpec {
  /** `vendor/package` */
  readonly name: string
  /** composer.json's `version`; absent: none (the version comes from the deploy's property). */
  readonly version?: string
  readonly require?: Readonly<Record<string, string>>
  /** What the package's class says (`Acme\<Class>::hello()`), to tell versions apart once installed. */
  readonly greeting?: string
  /** Put everything inside one top-level folder, as a GitHub zipball does. */
  readonly topFolder?: string
  /** More entries (hostile ones, a composer.lock). */
  readonly extra?: readonly ZipItem[]
  /** More composer.json fields. */
  readonly fields?: Readonly<Record<string, unknown>>
}

/** The PHP class name of a package: `acme/hello-world` → `HelloWorld`. */
export function classOf(name: string): string {
  return name
    .split('/')[1]!
    .split(/[-_.]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')
}

/** A package zip: composer.json (PSR-4 autoload of `Acme\` from src/) and one class. */
export function composerPackage(spec: PackageSpec): Buffer {
  const manifest = {
    name: spec.name,
    description: `${spec.name} for the tests`,
    type: 'library',
    license: 'MIT',
    ...(spec.version !== undefined ? { version: spec.version } : {}),
    require: { php: '>=7.4', ...spec.require },
    autoload: { 'psr-4': { 'Acme\\': 'src/' } },
    ...spec.fields,
  }
  const cls = classOf(spec.name)
  const prefix = spec.topFolder ? `${spec.topFolder}/` : ''
  return zipOf([
    { name: `${prefix}composer.json`, data: JSON.stringify(manifest, null, 2), deflate: true },
    { name: `${prefix}src/${cls}.php`, data: `<?php\nnamespace Acme;\nclass ${cls} { public static function hello(): string { return ${JSON.stringify(spec.greeting ?? `${spec.name} ${spec.version ?? ''}`)}; } }\n`, deflate: true },
    ...(spec.extra ?? []),
  ])
}

export interface Run {
  readonly code: number
  /** stdout and stderr together, as a terminal shows them. */
  readonly output: string
}

/** Runs a program, never throwing: its exit code and output. */
export function runProgram(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: 300_000, cwd: options.cwd, env: options.env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0, output: `${stdout}${stderr}` }),
    )
  })
}

/** A user's machine for composer: its own HOME, COMPOSER_HOME and cache. */
export class ComposerMachine {
  private constructor(
    readonly root: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(prefix = 'trove-composer-'): Promise<ComposerMachine> {
    const root = await mkdtemp(join(tmpdir(), prefix))
    const home = join(root, 'home')
    await mkdir(home, { recursive: true })
    const env: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env)) if (!/^(COMPOSER|XDG_|npm_)/.test(key)) env[key] = value
    Object.assign(env, {
      HOME: home,
      COMPOSER_HOME: join(home, '.composer'),
      COMPOSER_CACHE_DIR: join(root, 'cache'),
      COMPOSER_NO_INTERACTION: '1',
      COMPOSER_ALLOW_SUPERUSER: '1',
      NO_COLOR: '1',
    })
    return new ComposerMachine(root, env)
  }

  /** A project folder with these files (composer.json, auth.json, …). */
  async project(name: string, files: Readonly<Record<string, string>>): Promise<string> {
    const dir = join(this.root, name)
    await mkdir(dir, { recursive: true })
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text)
    return dir
  }

  composer(args: readonly string[], cwd: string): Promise<Run> {
    return runProgram('composer', ['--no-ansi', '--no-interaction', ...args], { cwd, env: this.env })
  }

  /** Runs `Acme\<Class>::hello()` with the project's autoloader. */
  php(cwd: string, name: string): Promise<Run> {
    return runProgram('php', ['-r', `require 'vendor/autoload.php'; echo \\Acme\\${classOf(name)}::hello();`], { cwd, env: this.env })
  }

  async close(): Promise<void> {
    await rm(this.root, { recursive: true, force: true })
  }
}

/** A project's composer.json whose only repository is `url` (plain http: secure-http off), and its auth.json. */
export function projectFiles(url: string, user: string, password: string, require: Readonly<Record<string, string>> = {}): Record<string, string> {
  const host = new URL(url).host
  return {
    'composer.json': JSON.stringify({
      name: 'test/project',
      repositories: [{ type: 'composer', url }, { packagist: false }],
      ...(Object.keys(require).length > 0 ? { require } : {}),
      config: { 'secure-http': false },
    }),
    'auth.json': JSON.stringify({ 'http-basic': { [host]: { username: user, password } } }),
  }
}
