/**
 * The console's Set Me Up snippets, run for real: rendered by a live Trove for its repositories
 * (`GET /api/v1/ui/repositories/{key}/set-me-up`, each format's `setMeUp`), with a token made and
 * filled in as the console makes and fills it in (`withToken`), written out exactly as a
 * user pastes them (`~/.npmrc`, `~/.config/pip/pip.conf`, `~/.pypirc`, `~/.m2/settings.xml`,
 * the `pom.xml` block, shell commands), then run by the real clients: curl, npm, twine and pip,
 * mvn, skopeo and podman. Nothing here compares a snippet with a string: a snippet is right when
 * the client it is for does what it says. Helm has no binary on the test machines: a stand-in
 * (test/helpers/helm-standin.mjs) does what helm does over HTTP, so the helm lines run unchanged.
 * The `docker` lines and Helm's OCI lines need binaries these machines lack and are not run.
 *
 * Where a client needs more than the snippet to run here, it comes through the environment, never
 * by editing the snippet: a fresh HOME, Maven's `user.home`, podman's storage, pip's `--target`.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { extract as extractTar } from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withToken, type Snippet, type UiSetMeUp } from '../../src/api/formats.js'
import { clientCommand, requireClients } from '../helpers/clients.js'
import { buildChart } from '../helpers/helm.js'
import { PLUGINS, startStaticMavenRepository, tail, writeProject, type StaticMavenRepository } from '../helpers/maven.js'
import { blobsOfImage, buildImage, writeLayout } from '../helpers/oci-images.js'
import { buildWheel } from '../helpers/python.js'
import { jarOf } from '../helpers/scan-archives.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { ClientHome } from '../conformance/npm/clients.js'
import { Client, createUser, grant } from './generic-support.js'

const hasClients = await requireClients('the Set Me Up suite', ['curl', 'npm', 'pip', 'twine', 'mvn', 'skopeo', 'podman'])

const USER = 'dev'
const PASSWORD = 'dev-password-1'
/** mvn runs up to a minute each on a loaded two-core machine. */
const MVN_TIMEOUT = 300_000

interface Run {
  readonly code: number
  readonly stdout: string
  /** stdout and stderr together, as a terminal shows them. */
  readonly output: string
}

describe.skipIf(!hasClients)('Set Me Up snippets against a live Trove', () => {
  let server: TestServer
  let admin: Client
  let plugins: StaticMavenRepository
  let work: string
  /** A token made as the console's Set Me Up page makes it: by the user, for themselves. */
  let token: string

  /** The snippets the console shows the user for a repository once it made the token, by id. */
  const snippetsOf = async (key: string): Promise<Record<string, Snippet>> => {
    const rendered = await admin.asUser(USER, PASSWORD).get(`/api/v1/ui/repositories/${key}/set-me-up`)
    expect(rendered.status, rendered.text).toBe(200)
    const { snippets, user } = rendered.json() as UiSetMeUp
    expect(user).toBe(USER)
    return Object.fromEntries(snippets.map((s) => [s.id, withToken(s, token)]))
  }

  /** A user's machine: an empty HOME, its own folders, the Debian clients first on PATH. */
  const machine = async (name: string) => {
    const root = join(work, name)
    const home = join(root, 'home')
    await mkdir(home, { recursive: true })
    const env: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env)) {
      // None of the settings of whatever runs these tests (npm's, pip's, a Python version manager's).
      if (/^(npm_|NPM_|PIP_|TWINE_|PYTHON|PYENV|VIRTUAL_ENV|MAVEN_|REGISTRY_AUTH_FILE|CONTAINERS_|XDG_)/.test(key) || key === 'NODE_OPTIONS') continue
      env[key] = value
    }
    Object.assign(env, { HOME: home, PATH: `${join(work, 'bin')}:/usr/bin:/bin:${process.env.PATH ?? ''}`, NO_COLOR: '1' })
    return {
      root,
      home,
      env,
      /** A folder of this machine with the files given. */
      async folder(path: string, files: Readonly<Record<string, string | Buffer>> = {}): Promise<string> {
        const dir = join(root, path)
        await mkdir(dir, { recursive: true })
        for (const [file, content] of Object.entries(files)) {
          await mkdir(join(dir, file, '..'), { recursive: true })
          await writeFile(join(dir, file), content)
        }
        return dir
      },
      /** Writes a snippet into the file it names, relative to HOME, as pasted (with a final newline). */
      async paste(path: string, snippet: Snippet): Promise<string> {
        const file = join(home, path)
        await mkdir(join(file, '..'), { recursive: true })
        await writeFile(file, `${snippet.text}\n`)
        return file
      },
      /** Runs shell text as pasted into bash: a failing line fails the whole. */
      run(text: string, cwd: string, options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Run> {
        return new Promise((resolve, reject) => {
          const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', text], { cwd, env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] })
          let stdout = ''
          let output = ''
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => ((stdout += chunk), (output += chunk)))
          child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
          child.stdin.end(options.input ?? '')
          const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000)
          child.on('error', reject)
          child.on('close', (code) => {
            clearTimeout(timer)
            resolve({ code: code ?? -1, stdout, output: `$ ${text}\n${output}` })
          })
        })
      },
    }
  }
  type Machine = Awaited<ReturnType<typeof machine>>
  const expectOk = (run: Run) => {
    expect(run.code, tail(run.output, 60)).toBe(0)
    return run
  }
  /** The snippet's lines (one command each), for running them in the order a session needs. */
  const lines = (snippet: Snippet) => snippet.text.split('\n')

  beforeAll(async () => {
    // Lower-case: podman names an image pulled from an oci: layout after its path.
    work = join(tmpdir(), `trove-set-me-up-${randomBytes(6).toString('hex')}`)
    await mkdir(work)
    server = await startTestServer({ settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    admin = new Client(server.url, server.adminAuth)
    plugins = await startStaticMavenRepository()
    await createUser(admin, USER, PASSWORD)
    const repositories: [string, Record<string, unknown>][] = [
      ['files', { rclass: 'local', packageType: 'generic' }],
      ['npm-local', { rclass: 'local', packageType: 'npm' }],
      ['pypi-local', { rclass: 'local', packageType: 'pypi' }],
      ['docker-local', { rclass: 'local', packageType: 'docker' }],
      ['charts', { rclass: 'local', packageType: 'helm' }],
      ['maven-local', { rclass: 'local', packageType: 'maven' }],
      // Maven's own plugins, from the machine's Maven repositories (see test/helpers/maven.ts).
      ['maven-plugins', { rclass: 'remote', packageType: 'maven', url: plugins.url }],
      ['maven-virtual', { rclass: 'virtual', packageType: 'maven', repositories: ['maven-local', 'maven-plugins'], defaultDeploymentRepo: 'maven-local' }],
    ]
    for (const [key, config] of repositories) {
      const created = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, ...config } })
      expect(created.status, created.text).toBe(200)
      await grant(admin, key, USER, ['read', 'annotate', 'deploy', 'delete'])
    }
    const made = await admin.asUser(USER, PASSWORD).post('/access/api/v1/tokens', { body: { description: 'Set Me Up', expires_in: 86_400 } })
    expect(made.status, made.text).toBe(200)
    token = (made.json() as { access_token: string }).access_token
    // `helm` for the snippets: the stand-in, on every machine's PATH.
    await mkdir(join(work, 'bin'))
    await writeFile(join(work, 'bin', 'helm'), `#!/bin/sh\nexec node ${JSON.stringify(join(import.meta.dirname, '../helpers/helm-standin.mjs'))} "$@"\n`)
    await chmod(join(work, 'bin', 'helm'), 0o755)
  })

  afterAll(async () => {
    await plugins?.close()
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('generic: the curl deploy (with its checksum header) and download', async () => {
    const s = await snippetsOf('files')
    const pc = await machine('generic')
    const bytes = randomBytes(200_000)
    expectOk(await pc.run(s['curl-deploy']!.text, await pc.folder('build', { 'build.tar.gz': bytes })))
    const stored = await admin.get('/artifactory/files/releases/1.0/build.tar.gz')
    expect(stored.status).toBe(200)
    expect(stored.body.equals(bytes)).toBe(true)
    // -O writes whatever comes back, an error page included: the bytes say whether it worked.
    const downloads = await pc.folder('downloads')
    expectOk(await pc.run(s['curl-download']!.text, downloads))
    expect((await readFile(join(downloads, 'build.tar.gz'))).equals(bytes)).toBe(true)
  })

  describe('npm', () => {
    let pc: Machine
    let s: Record<string, Snippet>

    beforeAll(async () => {
      s = await snippetsOf('npm-local')
      pc = await machine('npm')
    })

    it('.npmrc, then the publish and install commands', async () => {
      await pc.paste('.npmrc', s.npmrc!)
      const pkg = await pc.folder('my-package', {
        'package.json': JSON.stringify({ name: 'my-package', version: '1.0.0', main: 'index.js' }),
        'index.js': 'module.exports = "my-package, published with the Set Me Up .npmrc"\n',
      })
      expectOk(await pc.run(s['npm-publish']!.text, pkg))
      const project = await pc.folder('project', { 'package.json': JSON.stringify({ name: 'project', version: '1.0.0', private: true }) })
      expectOk(await pc.run(s['npm-install']!.text, project))
      expect(await readFile(join(project, 'node_modules', 'my-package', 'index.js'), 'utf8')).toContain('published with the Set Me Up .npmrc')
    })

    it('the .npmrc for one scope', async () => {
      const scoped = await machine('npm-scoped')
      await scoped.paste('.npmrc', s['npmrc-scoped']!)
      const pkg = await scoped.folder('widget', {
        'package.json': JSON.stringify({ name: '@my-scope/widget', version: '2.0.0', main: 'index.js' }),
        'index.js': 'module.exports = "scoped"\n',
      })
      expectOk(await scoped.run('npm publish', pkg))
      const project = await scoped.folder('project', { 'package.json': JSON.stringify({ name: 'project', version: '1.0.0', private: true }) })
      expectOk(await scoped.run('npm install @my-scope/widget', project))
      expect(await readFile(join(project, 'node_modules', '@my-scope', 'widget', 'index.js'), 'utf8')).toContain('scoped')
    })

    it('npm login with the password writes a working token into ~/.npmrc', async () => {
      // ClientHome types each answer once its prompt is there, as a person does.
      const fresh = await ClientHome.create()
      try {
        const answers: [RegExp, string][] = [
          [/Username:/, USER],
          [/Password:/, PASSWORD],
        ]
        expectOk(await fresh.run('bash', ['-e', '-c', s['npm-login']!.text], { cwd: fresh.root, answers }))
        const registry = `${server.url}/artifactory/api/npm/npm-local/`
        expect(await fresh.readNpmrc()).toContain(`${registry.replace(/^http:/, '')}:_authToken=`)
        expect(expectOk(await fresh.run('npm', ['whoami', '--registry', registry], { cwd: fresh.root })).stdout.trim()).toBe(USER)
      } finally {
        await fresh.remove()
      }
    })
  })

  it('pypi: .pypirc and twine upload, then pip install once and through pip.conf', async () => {
    const s = await snippetsOf('pypi-local')
    const pc = await machine('pypi')
    // pip's own settings for this run, as a user's environment would give them: no cache, no prompts,
    // and an install target (Debian's pip installs nowhere else outside a virtualenv).
    const pipEnv = (target: string) => ({ PIP_NO_CACHE_DIR: '1', PIP_NO_INPUT: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_TARGET: join(pc.root, target) })
    await pc.paste('.pypirc', s.pypirc!)
    const wheel = await buildWheel({ name: 'my-package', version: '1.0', value: 'uploaded with the Set Me Up .pypirc' })
    const project = await pc.folder('project', { [`dist/${wheel.filename}`]: wheel.bytes })
    expectOk(await pc.run(s['twine-upload']!.text, project, { env: { PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring', COLUMNS: '400' } }))

    expectOk(await pc.run(s['pip-install']!.text, pc.root, { env: pipEnv('site-once') }))
    expect(await readFile(join(pc.root, 'site-once', 'my_package', '__init__.py'), 'utf8')).toContain('uploaded with the Set Me Up .pypirc')

    await pc.paste('.config/pip/pip.conf', s['pip-conf']!)
    expectOk(await pc.run('pip install my-package', pc.root, { env: pipEnv('site-conf') }))
    expect(await readFile(join(pc.root, 'site-conf', 'my_package', '__init__.py'), 'utf8')).toContain('uploaded with the Set Me Up .pypirc')
  })

  it('maven (virtual): settings.xml and the pom.xml block, mvn deploy and deploy-file, then a build that resolves both', async () => {
    const s = await snippetsOf('maven-virtual')
    // Java takes the home folder from the password database, not $HOME: point it at this machine's.
    const mavenEnv = (pc: Machine) => ({ MAVEN_OPTS: `-Xmx512m -Duser.home=${pc.home}` })
    const deployer = await machine('maven')
    await deployer.paste('.m2/settings.xml', s['maven-settings']!)

    // 1. A project with the pom.xml block, deployed with `mvn deploy`.
    const app = await deployer.folder('my-app')
    await writeProject(app, { groupId: 'org.example', artifactId: 'my-app', version: '1.0', sources: { 'org/example/App.java': 'package org.example;\npublic class App {}\n' } })
    const pom = await readFile(join(app, 'pom.xml'), 'utf8')
    expect(pom).toMatch(/<distributionManagement>[\s\S]*<\/distributionManagement>/)
    await writeFile(join(app, 'pom.xml'), pom.replace(/<distributionManagement>[\s\S]*<\/distributionManagement>/, s['maven-distribution']!.text))
    expectOk(await deployer.run(s['maven-deploy']!.text, app, { env: mavenEnv(deployer), timeoutMs: MVN_TIMEOUT }))
    expect((await admin.get('/artifactory/maven-local/org/example/my-app/1.0/my-app-1.0.jar')).status).toBe(200)

    // 2. deploy-file of a jar built elsewhere. Run beside a pom.xml that pins the deploy plugin: the
    //    machine's Maven repositories lack the plugin-group metadata that resolves the `deploy:`
    //    prefix offline.
    const jar = jarOf([], { 'org/example/tool/README.txt': Buffer.from(`my-tool ${randomBytes(8).toString('hex')}\n`) })
    const tool = await deployer.folder('tool', { 'my-tool-1.0.jar': jar })
    await writeProject(tool, { groupId: 'org.example', artifactId: 'tool-deployer', version: '1.0', sources: {} })
    expectOk(await deployer.run(s['maven-deploy-file']!.text, tool, { env: mavenEnv(deployer), timeoutMs: MVN_TIMEOUT }))
    const stored = await admin.get('/artifactory/maven-local/org/example/my-tool/1.0/my-tool-1.0.jar')
    expect(stored.status).toBe(200)
    expect(stored.body.equals(jar)).toBe(true)

    // 3. Another machine with only the settings.xml snippet builds against both, from an empty local repository.
    const consumer = await machine('maven-consumer')
    await consumer.paste('.m2/settings.xml', s['maven-settings']!)
    const build = await consumer.folder('build')
    await writeProject(build, {
      groupId: 'org.example',
      artifactId: 'consumer',
      version: '1.0',
      dependencies: [
        { groupId: 'org.example', artifactId: 'my-app', version: '1.0' },
        { groupId: 'org.example', artifactId: 'my-tool', version: '1.0' },
      ],
      sources: { 'org/example/Consumer.java': 'package org.example;\npublic class Consumer { App app; }\n' },
    })
    expectOk(await consumer.run('mvn package', build, { env: mavenEnv(consumer), timeoutMs: MVN_TIMEOUT }))
    const resolved = join(consumer.home, '.m2', 'repository', 'org', 'example')
    expect((await readFile(join(resolved, 'my-tool', '1.0', 'my-tool-1.0.jar'))).equals(jar)).toBe(true)
    // Maven's plugins came through the same settings: the virtual's remote member fetched them.
    expect(plugins.requests.some((p) => p.includes(`/maven-compiler-plugin/${PLUGINS.compiler}/`))).toBe(true)
  }, 3 * MVN_TIMEOUT)

  describe('docker', () => {
    let s: Record<string, Snippet>
    let layout: string

    beforeAll(async () => {
      s = await snippetsOf('docker-local')
      const image = buildImage('set-me-up', 2)
      layout = join(work, 'image-layout')
      await writeLayout(layout, '1.0', image.manifest, blobsOfImage(image))
    })
    const digestOfTag = async () => {
      const head = await admin.head('/v2/docker-local/my-image/manifests/1.0', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
      expect(head.status).toBe(200)
      return head.headers['docker-content-digest']
    }

    it('skopeo: copy an archive in, then inspect it', async () => {
      const pc = await machine('skopeo')
      const cwd = await pc.folder('images')
      expectOk(await pc.run(`skopeo copy oci:${layout}:1.0 oci-archive:my-image.tar`, cwd))
      const [inspect, copy] = lines(s.skopeo!)
      expectOk(await pc.run(copy!, cwd))
      const inspected = JSON.parse(expectOk(await pc.run(inspect!, cwd)).stdout) as { Name: string; Digest: string }
      expect(inspected.Name).toBe(`${new URL(server.url).host}/docker-local/my-image`)
      expect(inspected.Digest).toBe(await digestOfTag())
    })

    it('podman: log in, push, and pull into empty storage', async () => {
      const pc = await machine('podman')
      // podman's storage and login file for this machine, as a rootless user's would be.
      const storage = join(pc.root, 'storage.conf')
      await writeFile(storage, `[storage]\ndriver = "vfs"\ngraphroot = "${join(pc.root, 'graph')}"\nrunroot = "${join(pc.root, 'run')}"\n`)
      const env = { CONTAINERS_STORAGE_CONF: storage, REGISTRY_AUTH_FILE: join(pc.root, 'auth.json') }
      const cwd = await pc.folder('images')
      try {
        const [login, pull, push] = lines(s.podman!)
        expect(expectOk(await pc.run(login!, cwd, { env })).output).toMatch(/Login Succeeded/)
        const id = expectOk(await pc.run(`podman pull -q oci:${layout}:1.0`, cwd, { env })).stdout.trim().split('\n').pop()!
        expectOk(await pc.run(`podman tag ${id} my-image:1.0`, cwd, { env }))
        expectOk(await pc.run(push!, cwd, { env }))
        expectOk(await pc.run('podman rmi --all --force', cwd, { env }))
        expectOk(await pc.run(pull!, cwd, { env }))
        const pulled = JSON.parse(expectOk(await pc.run(`podman image inspect ${new URL(server.url).host}/docker-local/my-image:1.0`, cwd, { env })).stdout) as { Id: string }[]
        expect(pulled[0]!.Id).toBe(id)
      } finally {
        // vfs layers are plain folders; podman's own reset removes them whatever their permissions.
        await pc.run('podman system reset --force', cwd, { env })
      }
    })
  })

  it('helm: package and upload with curl, then repo add, update and install', async () => {
    const s = await snippetsOf('charts')
    const pc = await machine('helm')
    const cwd = await pc.folder('charts')
    const chart = await buildChart({ name: 'my-chart', version: '0.1.0' })
    await writeFile(join(pc.root, 'source.tgz'), chart)
    await extractTar({ file: join(pc.root, 'source.tgz'), cwd })
    expectOk(await pc.run(s['helm-upload']!.text, cwd))
    const uploaded = await readFile(join(cwd, 'my-chart-0.1.0.tgz'))
    expect((await admin.get('/artifactory/api/helm/charts/my-chart-0.1.0.tgz')).body.equals(uploaded)).toBe(true)
    expectOk(await pc.run(s['helm-repo-add']!.text, cwd))
    expect((await readFile(join(pc.home, '.helm-standin', 'installed', 'my-release.tgz'))).equals(uploaded)).toBe(true)
  })
})
