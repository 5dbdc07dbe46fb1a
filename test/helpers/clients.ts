/**
 * One rule for every suite that needs something the machine may lack (a client such as skopeo or
 * mvn, a server such as PostgreSQL, the console's build): run by hand, a suite whose needs are
 * missing is skipped, with one line saying what is missing and how to install it; under
 * `CI=true` the test file fails instead, so that CI can never pass by testing nothing.
 *
 * ```ts
 * const hasSkopeo = await requireClients('the skopeo conformance suite', ['skopeo'])
 * describe.skipIf(!hasSkopeo)('skopeo against Trove', () => { ... })
 * ```
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PYTHON, TWINE } from './python.js'

/** Something a suite needs, with a way to tell whether it is there. */
export interface Requirement {
  /** Its name in messages (`skopeo`, `PostgreSQL at postgres://…`). */
  readonly name: string
  /** How to get it, for the message (`apt-get install -y skopeo`). */
  readonly install: string
  /** `undefined` when it is there; otherwise why not, in one line. Never throws. */
  probe(): Promise<string | undefined>
}

/** A known client: a {@link Requirement} plus the command the tests run it with. */
interface Client extends Requirement {
  /** The program to run: a name looked up on PATH, or an absolute path where the tests pin one. */
  readonly command: string
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** A program that answers `args` (a version or help flag) with exit status 0. */
function program(name: string, command: string, args: readonly string[], install: string): Client {
  return {
    name,
    command,
    install,
    probe: () =>
      new Promise((resolve) => {
        execFile(command, [...args], { timeout: 60_000 }, (err, _stdout, stderr) => {
          if (!err) return resolve(undefined)
          const detail = String(stderr).trim().split('\n')[0] || err.message.split('\n')[0]
          resolve(`\`${[command, ...args].join(' ')}\` failed: ${detail}`)
        })
      }),
  }
}

/** A file that must exist (a binary the tests start themselves, a build output). */
export function fileRequirement(name: string, path: string, install: string): Requirement {
  return { name, install, probe: async () => (existsSync(path) ? undefined : `${path} does not exist`) }
}

/** The web console's build, which the console suites serve (`dist/web`). */
export const CONSOLE_BUILD: Requirement = fileRequirement('the console build', `${ROOT}dist/web/index.html`, 'npm run build')

const apt = (pkg: string) => `apt-get install -y ${pkg}`
const devDependency = (name: string) => `npm ci (${name} is a devDependency of Trove)`

/**
 * Every client a suite may ask for by name. pnpm and yarn are devDependencies (pinned versions,
 * installed by `npm ci`); the Python clients are Debian's, not whatever a version manager put
 * first on PATH.
 */
const CLIENTS = {
  curl: program('curl', 'curl', ['--version'], apt('curl')),
  skopeo: program('skopeo', 'skopeo', ['--version'], apt('skopeo')),
  podman: program('podman', 'podman', ['--version'], apt('podman')),
  'docker-registry': program('docker-registry', '/usr/bin/docker-registry', ['--version'], apt('docker-registry')),
  npm: program('npm', 'npm', ['--version'], 'the npm that comes with Node.js'),
  pnpm: program('pnpm', `${ROOT}node_modules/.bin/pnpm`, ['--version'], devDependency('pnpm')),
  yarn: program('yarn', `${ROOT}node_modules/.bin/yarn`, ['--version'], devDependency('yarn')),
  pip: program('pip', PYTHON, ['-m', 'pip', '--version'], apt('python3-pip')),
  twine: program('twine', TWINE, ['--version'], apt('twine')),
  mvn: program('mvn', 'mvn', ['-v'], apt('maven')),
  chromium: program('chromium', process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version'], `${apt('chromium')} (or set CHROMIUM_PATH)`),
  go: program('go', 'go', ['version'], apt('golang-go')),
  cargo: program('cargo', 'cargo', ['--version'], apt('cargo')),
  gem: program('gem', 'gem', ['--version'], apt('ruby')),
  bundle: program('bundle', 'bundle', ['--version'], apt('ruby-bundler')),
  composer: program('composer', 'composer', ['--version'], apt('composer')),
  nginx: program('nginx', 'nginx', ['-v'], apt('nginx')),
  moto_server: program('moto_server', 'moto_server', ['--help'], "pip install 'moto[server]'"),
} as const satisfies Record<string, Client>

export type ClientName = keyof typeof CLIENTS

/** The command to run a client with (absolute where the tests pin one: pnpm, yarn, twine, …). */
export function clientCommand(name: ClientName): string {
  return CLIENTS[name].command
}

/**
 * Whether everything `needs` lists is there; probes them all at once. When something is missing:
 * under `CI=true` throws, which fails the test file (and `.ci/run`); by hand prints one
 * `SKIPPING` line naming `suite`, what is missing and how to install it, and returns `false` —
 * pass the result to `describe.skipIf(!…)` or `it.skipIf(!…)`. Call it once per suite, at the
 * top of the test file.
 *
 * @param suite what is skipped, as the message should name it: `'the skopeo conformance suite'`
 * @param needs known clients by name, or any other {@link Requirement}
 */
export async function requireClients(suite: string, needs: readonly (ClientName | Requirement)[]): Promise<boolean> {
  const requirements = needs.map((need) => (typeof need === 'string' ? CLIENTS[need] : need))
  const reasons = await Promise.all(requirements.map((r) => r.probe()))
  const missing = requirements.flatMap((r, i) => (reasons[i] === undefined ? [] : [`${r.name} (${reasons[i]}; install: ${r.install})`]))
  if (missing.length === 0) return true
  if (process.env.CI === 'true') {
    throw new Error(`${suite} cannot run: missing ${missing.join(', ')}; under CI=true that fails the run instead of skipping`)
  }
  console.warn(`SKIPPING ${suite}: missing ${missing.join(', ')}`)
  return false
}
