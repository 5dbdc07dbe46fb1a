/**
 * Package views in the console (issue #18 item 1), in Debian's chromium against a real Trove: a
 * repository opens on its packages. An image pushed over the registry API shows its tags with
 * digests, a multi-arch index its platforms, a manifest its layers in order and its config, a
 * referrer (an SBOM) and an untagged manifest as such. An npm package published with the real npm
 * client shows its versions, dist-tags, README and dependencies, and the install line copied from
 * its page runs with the real npm through a remote repository, which then lists what it cached
 * and when; a virtual repository lists its members' packages merged. A user granted only one
 * repository sees only that one's packages. A wheel uploaded with twine shows its summary, README
 * and Requires-Dist, and its copied pip line installs it. The API refuses bad queries with clear errors.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientHome } from '../../conformance/npm/clients.js'
import { consoleLogin, consoleLogout, openBrowser, type Browser } from '../../helpers/browser.js'
import { CONSOLE_BUILD, requireClients } from '../../helpers/clients.js'
import { RegistryClient, type OciServer } from '../../helpers/oci.js'
import { OCI_MANIFEST, blobOf, buildImage, buildIndex } from '../../helpers/oci-images.js'
import { PYTHON, TWINE, buildWheel, runCommand } from '../../helpers/python.js'
import { ADMIN_PASSWORD, basicAuth, startTestServer, type TestServer } from '../../helpers/server.js'
import { expectAccessible } from './axe.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SCREENSHOTS = join(ROOT, 'docs', 'screenshots')

const hasClients = await requireClients("the console's package views", ['chromium', 'npm', 'pip', 'twine', CONSOLE_BUILD])

describe.skipIf(!hasClients)('package views in the console', () => {
  let server: TestServer
  let browser: Browser
  let page: Page
  let home: ClientHome
  let registry: RegistryClient
  const digests: Record<string, string> = {}
  const call = (method: string, path: string, json?: unknown, auth?: string, body?: string) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: auth ?? server.adminAuth, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json === undefined ? body : JSON.stringify(json),
    })
  const createRepository = async (key: string, body: Record<string, unknown>) => {
    const res = await call('PUT', `/artifactory/api/repositories/${key}`, { key, ...body })
    expect(res.status, await res.clone().text()).toBe(200)
  }
  const login = (user: string, password: string) => consoleLogin(page, server.url, user, password)

  beforeAll(async () => {
    // The remote repository's upstream is this Trove itself, on 127.0.0.1.
    server = await startTestServer({ env: { TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' } })
    await mkdir(SCREENSHOTS, { recursive: true })
    registry = new RegistryClient(server as unknown as OciServer, server.adminAuth) // uses its url and adminAuth only
    await createRepository('docker-local', { rclass: 'local', packageType: 'docker' })
    await createRepository('npm-local', { rclass: 'local', packageType: 'npm' })
    // A remote of the local npm repository, through Trove's own URL: it fills only as clients pull.
    await createRepository('npm-remote', { rclass: 'remote', packageType: 'npm', url: `${server.url}/artifactory/api/npm/npm-local/`, username: 'admin', password: ADMIN_PASSWORD })
    await createRepository('npm-all', { rclass: 'virtual', packageType: 'npm', repositories: ['npm-local', 'npm-remote'], defaultDeploymentRepo: 'npm-local' })

    // Images: app:1.0 with three layers; app:multi, an index of two platforms pushed by digest;
    // an SBOM referring to app:1.0; app:moving pushed twice, leaving its first manifest untagged.
    const app = buildImage('app', 3)
    digests.app = await registry.pushImage('docker-local/app', '1.0', app)
    const arm = buildImage('multi', 1, { architecture: 'arm64', os: 'linux' })
    const amd = buildImage('multi', 1, { architecture: 'amd64', os: 'linux' })
    for (const image of [arm, amd]) await registry.pushImage('docker-local/app', image.manifest.descriptor.digest, image)
    const index = buildIndex([amd, arm])
    expect((await registry.putManifest('docker-local/app', 'multi', index)).status).toBe(201)
    digests.index = index.descriptor.digest
    digests.arm = arm.manifest.descriptor.digest
    const empty = blobOf('application/vnd.oci.empty.v1+json', Buffer.from('{}'))
    const sbom = blobOf('application/spdx+json', Buffer.from('{"spdxVersion":"SPDX-2.3"}'))
    await registry.pushBlob('docker-local/app', empty.bytes)
    await registry.pushBlob('docker-local/app', sbom.bytes)
    const referrer = blobOf(
      OCI_MANIFEST,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: 'application/spdx+json',
          config: empty.descriptor,
          layers: [sbom.descriptor],
          subject: { mediaType: OCI_MANIFEST, digest: digests.app, size: app.manifest.bytes.length },
        }),
      ),
    )
    expect((await registry.putManifest('docker-local/app', referrer.descriptor.digest, referrer)).status).toBe(201)
    digests.referrer = referrer.descriptor.digest
    digests.moved = await registry.pushImage('docker-local/app', 'moving', buildImage('first', 1))
    await registry.pushImage('docker-local/app', 'moving', buildImage('second', 1))

    // npm: two versions published with the real npm client, the second with a README and dependencies.
    home = await ClientHome.create()
    const npmRegistry = `${server.url}/artifactory/api/npm/npm-local/`
    const auth = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')
    const remote = `${server.url}/artifactory/api/npm/npm-remote/`
    await home.writeNpmrc([`${npmRegistry.replace(/^http:/, '')}:_auth=${auth}`, `${remote.replace(/^http:/, '')}:_auth=${auth}`])
    for (const version of ['1.0.0', '1.1.0']) {
      const manifest = { name: '@team/widget', version, description: 'Widgets for the team', ...(version === '1.1.0' ? { dependencies: { 'left-pad': '^1.3.0' }, peerDependencies: { react: '>=18' } } : {}) }
      const folder = await home.folder(`widget-${version}`, { 'package.json': JSON.stringify(manifest), 'index.js': 'module.exports = 1\n', 'README.md': `# Widget ${version}\n\nMakes widgets.\n` })
      const published = await home.run('npm', ['publish', '--registry', npmRegistry], { cwd: folder })
      expect(published.code, published.output).toBe(0)
    }

    browser = await openBrowser()
    page = browser.page
    await login('admin', ADMIN_PASSWORD)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('1. a Docker repository opens on its images; an image lists its tags with digests, and untagged manifests as such', async () => {
    await page.getByRole('link', { name: 'docker-local', exact: true }).click()
    expect(new URL(page.url()).pathname).toBe('/ui/packages/docker-local')
    const row = page.getByRole('row', { name: /^app/ })
    await expect.poll(() => row.textContent()).toMatch(/app.*moving.*3/) // the newest tag; three tags
    await expectAccessible(page)
    await page.screenshot({ path: join(SCREENSHOTS, 'packages.png'), fullPage: true })

    await row.getByRole('link', { name: 'app', exact: true }).click()
    await page.getByRole('heading', { name: 'app', level: 1 }).waitFor()
    const version = (v: string) => page.locator(`tr[data-version="${v}"]`)
    await expect.poll(() => version('1.0').textContent()).toContain(digests.app)
    expect(await version('multi').textContent()).toContain('multi-platform')
    expect(await version(digests.moved!).textContent()).toContain('untagged')
    expect(await version(digests.arm!).textContent()).toContain('platform of multi')
    expect(await version(digests.referrer!).textContent()).toContain('refers to 1.0')
    await expectAccessible(page)
  })

  it('2. a tag shows its layers in order with sizes, its config, its referrers and a pull command that pulls it', async () => {
    await page.locator('tr[data-version="1.0"]').getByRole('link', { name: '1.0', exact: true }).click()
    await page.getByRole('heading', { name: 'app 1.0', level: 1 }).waitFor()
    const manifest = (await (await call('GET', '/v2/docker-local/app/manifests/1.0')).json()) as { layers: { digest: string; size: number }[] }
    const layers = page.locator('[data-section="Layers"] tbody tr')
    await expect.poll(() => layers.count()).toBe(3)
    for (const [i, layer] of manifest.layers.entries()) expect(await layers.nth(i).textContent()).toBe(`${i + 1}${layer.digest}application/vnd.oci.image.layer.v1.tar+gzip${layer.size} B`)
    expect(await page.locator('[data-section="Environment"]').textContent()).toContain('SEED=app')
    expect(await page.locator('[data-section="History"] tbody tr').count()).toBe(3)
    expect(await page.locator('[data-section="Referrers"]').textContent()).toContain('application/spdx+json')
    const pull = await page.locator('[data-snippet="podman-pull"] pre').textContent()
    expect(pull).toBe(`podman pull --tls-verify=false ${new URL(server.url).host}/docker-local/app@${digests.app}`)
    expect(await page.locator('[data-snippet="docker-pull"] pre').textContent()).toBe(`docker pull ${new URL(server.url).host}/docker-local/app:1.0`)
    // The digest in the pull command is the one the registry serves for the tag.
    const head = await call('HEAD', '/v2/docker-local/app/manifests/1.0')
    expect(head.headers.get('docker-content-digest')).toBe(digests.app)
    await expectAccessible(page)
    await page.screenshot({ path: join(SCREENSHOTS, 'image-tag.png'), fullPage: true })

    // The referrer opens from the table, as its own untagged version.
    await page.locator('[data-section="Referrers"]').getByRole('link', { name: digests.referrer! }).click()
    await page.getByRole('heading', { name: `app ${digests.referrer}`, level: 1 }).waitFor()
    expect(await page.locator('.labels').first().textContent()).toContain('untagged')
  })

  it('3. a multi-arch index lists its platforms, each opening its manifest', async () => {
    await page.goto(`${server.url}/ui/packages/docker-local/version?name=app&version=multi`)
    const platforms = page.locator('[data-section="Platforms"] tbody tr')
    await expect.poll(() => platforms.count()).toBe(2)
    expect(await platforms.nth(0).textContent()).toMatch(/^linux\/amd64sha256:/)
    expect(await platforms.nth(1).textContent()).toContain(`linux/arm64${digests.arm}`)
    await platforms.nth(1).getByRole('link').click()
    await page.getByRole('heading', { name: `app ${digests.arm}`, level: 1 }).waitFor()
    await expect.poll(() => page.locator('[data-section="Configuration"]').textContent()).toContain('linux/arm64')
    // The file tree stays as the second view.
    await page.getByRole('link', { name: 'See it in the file tree' }).click()
    await page.getByRole('tree').waitFor()
    expect(decodeURIComponent(new URL(page.url()).pathname)).toBe(`/ui/repositories/docker-local/app/sha256__${digests.arm!.slice(7)}`)
  })

  it('4. an npm package shows its versions and dist-tags; a version its README, dependencies, and an install line npm runs', async () => {
    await page.goto(`${server.url}/ui/packages/npm-local`)
    await page.getByRole('link', { name: '@team/widget', exact: true }).click()
    await expect.poll(() => page.locator('tr[data-version="1.1.0"]').textContent()).toContain('latest')
    expect(await page.locator('.description').textContent()).toBe('Widgets for the team')
    await page.locator('tr[data-version="1.1.0"]').getByRole('link', { name: '1.1.0' }).click()
    await page.getByRole('heading', { name: 'README' }).waitFor()
    expect(await page.locator('pre.readme').textContent()).toContain('# Widget 1.1.0')
    const dependencies = page.locator('[data-section="Dependencies"] tbody tr')
    expect(await dependencies.allTextContents()).toEqual(['left-pad^1.3.0runtime', 'react>=18peer'])
    await expectAccessible(page)
    await page.screenshot({ path: join(SCREENSHOTS, 'package-version.png'), fullPage: true })

    // The install line of the remote's page, as copied, run with the real npm in a project.
    await page.goto(`${server.url}/ui/packages/npm-remote`)
    await page.getByTestId('packages-empty').waitFor()
    expect(await page.getByTestId('packages-empty').textContent()).toMatch(/fills as clients pull through it/)
    expect(await page.getByTestId('repository-state').textContent()).toContain('/artifactory/api/npm/npm-local/')
    const line = (await call('GET', '/api/v1/ui/repositories/npm-local/package-version?name=%40team%2Fwidget&version=1.0.0').then((r) => r.json())) as { install: { text: string }[] }
    const command = line.install[0]!.text.replace('/npm-local/', '/npm-remote/')
    const project = await home.folder('consumer', { 'package.json': '{"name":"consumer","version":"1.0.0"}' })
    await home.clearCaches() // publishing left the tarball in npm's cache
    const [npm, ...args] = command.split(' ')
    const installed = await home.run(npm!, [...args!, '--no-audit', '--no-fund'], { cwd: project })
    expect(installed.code, installed.output).toBe(0)

    // The tarball is cached as it streams to npm; its record may land just after npm is done.
    const listed = async () => ((await (await call('GET', '/api/v1/ui/repositories/npm-remote/packages')).json()) as { packages: unknown[] }).packages.length
    await expect.poll(listed, { timeout: 15_000 }).toBe(1)
    await page.reload()
    const cached = page.getByRole('row', { name: /@team\/widget/ })
    await expect.poll(() => cached.textContent()).toMatch(/@team\/widget1\.0\.01/)
    expect(await page.getByRole('columnheader', { name: 'Cached' }).count()).toBe(1)
    await page.screenshot({ path: join(SCREENSHOTS, 'remote-packages.png'), fullPage: true })
  })

  it('5. a virtual repository lists its members’ packages merged, saying where they come from', async () => {
    await page.goto(`${server.url}/ui/packages/npm-all`)
    await expect.poll(() => page.getByRole('row', { name: /@team\/widget/ }).textContent()).toMatch(/1\.1\.0.*2/)
    expect(await page.getByTestId('repository-state').textContent()).toMatch(/merged contents of its members.*npm-local, npm-remote/)
  })

  it('6. a user granted one repository sees its packages, and is refused another', async () => {
    const auth = await registry.createUser('pat', { 'docker-local': ['read'] })
    const list = await call('GET', '/api/v1/ui/repositories/docker-local/packages', undefined, auth)
    expect(((await list.json()) as { packages: { name: string }[] }).packages.map((p) => p.name)).toEqual(['app'])
    expect((await call('GET', '/api/v1/ui/repositories/npm-local/packages', undefined, auth)).status).toBe(403)
    await consoleLogout(page)
    await login('pat', 'pat-password-1')
    expect(await page.getByRole('link', { name: 'npm-local' }).count()).toBe(0)
    await page.getByRole('link', { name: 'docker-local', exact: true }).click()
    await expect.poll(() => page.getByRole('row', { name: /^app/ }).count()).toBe(1)
    expect(basicAuth('pat', 'pat-password-1')).toBe(auth)
  })

  it('7. a PyPI project uploaded with twine: its version shows the summary, README and Requires-Dist, and the pip line installs it', async () => {
    await consoleLogout(page)
    await login('admin', ADMIN_PASSWORD)
    await createRepository('pypi-local', { rclass: 'local', packageType: 'pypi' })
    const wheel = await buildWheel({ name: 'data-tools', version: '2.1.0', summary: 'Tools for data', requires: ['requests (>=2.0)', 'numpy>=1.20; extra == "fast"'] })
    const file = join(await home.folder('wheels'), wheel.filename)
    await writeFile(file, wheel.bytes)
    const upload = await runCommand(TWINE, ['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${server.url}/artifactory/api/pypi/pypi-local`, '-u', 'admin', '-p', ADMIN_PASSWORD, file])
    expect(upload.code, upload.output).toBe(0)
    await page.goto(`${server.url}/ui/packages/pypi-local`)
    await page.getByRole('link', { name: '2.1.0' }).click()
    await page.getByRole('heading', { name: 'data-tools 2.1.0', level: 1 }).waitFor()
    expect(await page.locator('.description').textContent()).toBe('Tools for data')
    expect(await page.locator('pre.readme').textContent()).toBe('A package built by the Trove tests.')
    expect(await page.locator('[data-section="Dependencies"] tbody tr').allTextContents()).toEqual(['requests>=2.0runtime', 'numpy>=1.20; extra == "fast"extra'])
    const line = await page.locator('[data-snippet="pip-install"] pre').textContent()
    expect(line).toMatch(/ data-tools==2\.1\.0$/)
    const target = await home.folder('site')
    const [, ...args] = line!.replace('<TOKEN>', encodeURIComponent(ADMIN_PASSWORD)).split(' ')
    const installed = await runCommand(PYTHON, ['-m', 'pip', ...args, '--no-deps', '--target', target, '--disable-pip-version-check'])
    expect(installed.code, installed.output).toBe(0)
    expect(installed.output).toContain('Successfully installed data-tools-2.1.0')
  })

  it('8. a Maven artifact: versions newest first with SNAPSHOT labelled, a version its POM description, dependencies with scopes and the dependency snippet', async () => {
    await createRepository('maven-local', { rclass: 'local', packageType: 'maven' })
    const pom = (version: string) =>
      `<project><modelVersion>4.0.0</modelVersion><groupId>com.example.team</groupId><artifactId>billing</artifactId><version>${version}</version>` +
      `<name>Billing</name><description>Invoices &amp; payments</description><dependencies>` +
      `<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.9</version></dependency>` +
      `<dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency></dependencies></project>`
    const base = '/artifactory/maven-local/com/example/team/billing'
    for (const [version, file] of [['1.0', 'billing-1.0'], ['1.1-SNAPSHOT', 'billing-1.1-20261207.120000-1']] as const) {
      expect((await call('PUT', `${base}/${version}/${file}.pom`, undefined, undefined, pom(version))).status).toBe(201)
      expect((await call('PUT', `${base}/${version}/${file}.jar`, undefined, undefined, `jar bytes of ${version}`)).status).toBe(201)
    }
    await page.goto(`${server.url}/ui/packages/maven-local`)
    await page.getByRole('link', { name: 'com.example.team:billing' }).click()
    await expect.poll(() => page.locator('tr[data-version="1.1-SNAPSHOT"]').textContent()).toMatch(/latest.*snapshot/)
    await page.locator('tr[data-version="1.0"]').getByRole('link', { name: '1.0' }).click()
    await page.getByRole('heading', { name: 'com.example.team:billing 1.0', level: 1 }).waitFor()
    expect(await page.locator('.description').textContent()).toBe('Invoices & payments')
    expect(await page.locator('[data-section="Dependencies"] tbody tr').allTextContents()).toEqual(['org.slf4j:slf4j-api2.0.9compile', 'junit:junit4.13.2test'])
    expect(await page.locator('[data-snippet="maven-dependency"] pre').textContent()).toContain('<artifactId>billing</artifactId>\n  <version>1.0</version>')
    // Checksums and maven-metadata.xml are the layout's, not the version's files.
    expect(await page.locator('table').last().locator('tbody th a').allTextContents()).toEqual([
      'com/example/team/billing/1.0/billing-1.0.jar',
      'com/example/team/billing/1.0/billing-1.0.pom',
    ])
    await expectAccessible(page)
  })

  it('9. refuses bad queries with a clear error', async () => {
    const error = async (path: string, status: number, message: RegExp) => {
      const res = await call('GET', path)
      expect(res.status).toBe(status)
      expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(message)
    }
    await error('/api/v1/ui/repositories/docker-local/package', 400, /'name' is required/)
    await error('/api/v1/ui/repositories/docker-local/package-version?name=app', 400, /'version' is required/)
    await error('/api/v1/ui/repositories/docker-local/packages?sort=size', 400, /sort must be one of name, updated/)
    await error('/api/v1/ui/repositories/docker-local/package?name=nope', 404, /no image 'nope' in 'docker-local'/)
    await error('/api/v1/ui/repositories/docker-local/package-version?name=app&version=2.0', 404, /no version '2.0' of the image 'app'/)
    await error('/api/v1/ui/repositories/no-such/packages', 404, /no-such/)
    // The console says so where the user is, with a way on.
    await page.goto(`${server.url}/ui/packages/docker-local/version?name=app&version=2.0`)
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/no version '2.0' of the image 'app'/)
    expect(await page.getByRole('link', { name: 'See the versions of app' }).count()).toBe(1)
    expect(browser.pageErrors).toEqual([])
  })
})
