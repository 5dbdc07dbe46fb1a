/**
 * PyPI local repositories with the real clients: Debian's twine uploads wheels and sdists built in
 * the test, Debian's pip (`/usr/bin/python3 -m pip`) installs them with `--require-hashes`,
 * credentials in the index URL and in a pip.conf. The simple API is checked byte by byte (PEP 503
 * HTML, PEP 691 JSON, PEP 592 yanks, PEP 658/714 metadata), and every refusal twine can meet is
 * checked with what twine prints and with nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../../helpers/clients.js'
import { metadataBackends } from '../../helpers/postgres.js'
import { buildSdist, buildWheel, PYTHON, PythonHome, runCommand, type DistOptions, type PythonDist } from '../../helpers/python.js'
import { startTestServer, type TestServer } from '../../helpers/server.js'
import { Client, createUser, grant } from '../../e2e/generic-support.js'

const backends = await metadataBackends()
const hasClients = await requireClients('the PyPI client tests', ['pip', 'twine'])

const API = '/artifactory/api/pypi'
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json'

describe.skipIf(!hasClients).each(backends)('PyPI local repository with twine and pip (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let dev: Client
  let home: PythonHome
  let wheel1: PythonDist
  let wheel2: PythonDist
  let sdist1: PythonDist
  /** `http://dev:secret-pw-1@127.0.0.1:port` */
  let devUrl: string

  const indexUrl = (base: string, repo: string) => `${base}${API}/${repo}/simple/`
  const uploadUrl = (repo: string) => `${server.url}${API}/${repo}`
  const twineUpload = (repo: string, files: string[], extra: string[] = []) =>
    home.twine(['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', uploadUrl(repo), '-u', 'dev', '-p', 'secret-pw-1', ...extra, ...files])
  const jsonPage = async (repo: string, project: string) => {
    const response = await dev.get(`${API}/${repo}/simple/${project}/`, { headers: { accept: JSON_TYPE } })
    expect(response.status, response.text).toBe(200)
    expect(response.headers['content-type']).toBe(JSON_TYPE)
    return response.json() as { name: string; files: { filename: string; url: string; hashes: Record<string, string>; yanked: boolean | string; 'core-metadata'?: { sha256: string }; 'requires-python'?: string }[]; versions: string[] }
  }
  /** A legacy upload made by hand, for what twine never sends (a wrong digest, a bad name). */
  const postUpload = async (repo: string, fields: Record<string, string>, file: { name: string; bytes: Buffer }) => {
    const form = new FormData()
    for (const [key, value] of Object.entries({ ':action': 'file_upload', protocol_version: '1', ...fields })) form.append(key, value)
    form.append('content', new Blob([file.bytes]), file.name)
    const response = await fetch(uploadUrl(repo), { method: 'POST', body: form, headers: { authorization: dev.authorization! } })
    return { status: response.status, reason: response.statusText, text: await response.text() }
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    const created = await admin.put('/artifactory/api/repositories/pylocal', { body: { key: 'pylocal', rclass: 'local', packageType: 'pypi' } })
    expect(created.status, created.text).toBe(200)
    await createUser(admin, 'dev', 'secret-pw-1')
    await grant(admin, 'pylocal', 'dev', ['read', 'annotate', 'deploy', 'delete'])
    dev = admin.asUser('dev', 'secret-pw-1')
    devUrl = server.url.replace('http://', 'http://dev:secret-pw-1@')
    home = await PythonHome.create()
    wheel1 = await buildWheel({ name: 'Trove_Demo', version: '1.0.0', requiresPython: '>=3.7', value: 'one' })
    wheel2 = await buildWheel({ name: 'Trove_Demo', version: '1.1.0', requiresPython: '>=3.7', value: 'one-one' })
    sdist1 = await buildSdist({ name: 'Trove_Demo', version: '1.0.0', requiresPython: '>=3.7' })
    for (const dist of [wheel1, wheel2, sdist1]) await home.write(`dist/${dist.filename}`, dist.bytes)
  })

  afterAll(async () => {
    await home?.remove()
    await server?.close()
  })

  it('1. twine uploads wheels and an sdist (to the URL with and without a trailing slash)', async () => {
    const first = await twineUpload('pylocal', [home.path('dist', wheel1.filename), home.path('dist', sdist1.filename)])
    expect(first.code, first.output).toBe(0)
    expect(first.output).toContain(`Uploading ${wheel1.filename}`)
    const second = await home.twine([
      'upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${uploadUrl('pylocal')}/`, '-u', 'dev', '-p', 'secret-pw-1', home.path('dist', wheel2.filename),
    ])
    expect(second.code, second.output).toBe(0)
    // The layout is plain: <project>/<version>/<file>, the wheel's METADATA beside it, properties set.
    const stored = await dev.get(`/artifactory/api/storage/pylocal/trove-demo/1.0.0/${wheel1.filename}?properties`)
    expect(stored.status, stored.text).toBe(200)
    expect(stored.json().properties).toMatchObject({ 'pypi.name': ['Trove-Demo'], 'pypi.version': ['1.0.0'], 'pypi.requires_python': ['>=3.7'] })
    const metadata = await dev.get(`/artifactory/pylocal/trove-demo/1.0.0/${wheel1.filename}.metadata`)
    expect(metadata.text).toBe(wheel1.metadata)
  })

  it('2. serves the simple API: HTML (PEP 503), JSON (PEP 691), normalised names, hashes, metadata (PEP 658/714)', async () => {
    const list = await dev.get(`${API}/pylocal/simple/`)
    expect(list.status).toBe(200)
    expect(list.text).toContain('<a href="trove-demo/">trove-demo</a>')
    expect((await dev.get(`${API}/pylocal/simple/`, { headers: { accept: JSON_TYPE } })).json()).toEqual({ meta: { 'api-version': '1.0' }, projects: [{ name: 'trove-demo' }] })

    const html = await dev.get(`${API}/pylocal/simple/trove-demo/`, { headers: { accept: 'text/html' } })
    expect(html.status).toBe(200)
    expect(html.headers['content-type']).toMatch(/^application\/vnd\.pypi\.simple\.v1\+html/)
    const metadataSha = (await import('node:crypto')).createHash('sha256').update(wheel1.metadata).digest('hex')
    expect(html.text).toContain(
      `<a href="../../packages/trove-demo/1.0.0/${wheel1.filename}#sha256=${wheel1.sha256}" data-requires-python="&gt;=3.7" ` +
        `data-core-metadata="sha256=${metadataSha}">${wheel1.filename}</a>`,
    )
    expect(html.text).toContain(`href="../../packages/trove-demo/1.0.0/${sdist1.filename}#sha256=${sdist1.sha256}" data-requires-python="&gt;=3.7">`)

    const page = await jsonPage('pylocal', 'trove-demo')
    expect(page.name).toBe('trove-demo')
    expect(page.versions).toEqual(['1.0.0', '1.1.0'])
    const file = page.files.find((f) => f.filename === wheel1.filename)!
    expect(file).toMatchObject({ hashes: { sha256: wheel1.sha256 }, 'requires-python': '>=3.7', yanked: false, 'core-metadata': { sha256: metadataSha } })
    // PEP 714: only the new name, in JSON and HTML (pip 23.0 fails on a `dist-info-metadata`
    // object, and mis-checks names with `data-dist-info-metadata`).
    expect(file).not.toHaveProperty('dist-info-metadata')
    expect(html.text).not.toContain('data-dist-info-metadata')

    // Other spellings redirect to the normalised URL, as PyPI does; so does a missing slash.
    for (const spelling of ['Trove_Demo/', 'trove.demo/', 'trove-demo']) {
      const redirect = await dev.get(`${API}/pylocal/simple/${spelling}`)
      expect(redirect.status, spelling).toBe(301)
      expect(redirect.headers.location).toBe(`${API}/pylocal/simple/trove-demo/`)
    }
    const missing = await dev.get(`${API}/pylocal/simple/no-such-project/`)
    expect(missing.status).toBe(404)
    expect(missing.text).toMatch(/No project 'no-such-project'/)

    // The files, and the metadata file, with the hashes the page announced.
    const download = await dev.get(`${API}/pylocal/packages/trove-demo/1.0.0/${wheel1.filename}`)
    expect(download.status).toBe(200)
    expect(download.body.equals(wheel1.bytes)).toBe(true)
    const metadata = await dev.get(`${API}/pylocal/packages/trove-demo/1.0.0/${wheel1.filename}.metadata`)
    expect(metadata.text).toBe(wheel1.metadata)
  })

  it('2b. pip >= 23.1 resolves from the core metadata (PEP 658/714), never downloading a wheel it rejects; Debian pip 23.0 downloads it', async () => {
    // meta-top 2.0.0 needs a meta-dep that does not exist: pip must look at it, reject it and go back to 1.0.0.
    const top2 = await buildWheel({ name: 'Meta_Top', version: '2.0.0', requires: ['meta-dep>=5'] })
    const top1 = await buildWheel({ name: 'Meta_Top', version: '1.0.0', requires: ['meta-dep>=1.0'] })
    const dep = await buildWheel({ name: 'meta-dep', version: '1.0.0' })
    for (const [dist, name, version] of [[top1, 'Meta_Top', '1.0.0'], [top2, 'Meta_Top', '2.0.0'], [dep, 'meta-dep', '1.0.0']] as const) {
      const response = await postUpload('pylocal', { name, version, filetype: 'bdist_wheel', sha256_digest: dist.sha256 }, { name: dist.filename, bytes: dist.bytes })
      expect(response.status, response.text).toBe(200)
    }
    const downloads = async (path: string) => (await dev.get(`/artifactory/api/storage/pylocal/${path}?stats`)).json().downloadCount as number
    const counts = async () => ({
      rejectedWheel: await downloads(`meta-top/2.0.0/${top2.filename}`),
      rejectedMetadata: await downloads(`meta-top/2.0.0/${top2.filename}.metadata`),
      metadata: (await downloads(`meta-top/1.0.0/${top1.filename}.metadata`)) + (await downloads(`meta-dep/1.0.0/${dep.filename}.metadata`)),
    })
    // Every pip on the machine: Debian's (the one CI has), and a newer one on PATH if there is one.
    const pips = [await home.pipVersion(PYTHON), await home.pipVersion('python3')].filter((p, i, all) => p !== undefined && all.findIndex((q) => q?.version.join('.') === p.version.join('.')) === i)
    for (const pip of pips as { python: string; version: [number, number] }[]) {
      const before = await counts()
      const result = await home.pipWith(pip.python, ['install', '--dry-run', '--target', home.path('site-dry'), '--no-cache-dir', '--only-binary', ':all:', '--index-url', indexUrl(devUrl, 'pylocal'), 'meta.top'])
      expect(result.code, result.output).toBe(0)
      expect(result.output).toMatch(/Would install (Meta_Top-1\.0\.0 meta-dep-1\.0\.0|meta-dep-1\.0\.0 Meta_Top-1\.0\.0)/)
      const after = await counts()
      const delta = { rejectedWheel: after.rejectedWheel - before.rejectedWheel, rejectedMetadata: after.rejectedMetadata - before.rejectedMetadata, metadata: after.metadata - before.metadata }
      const usesMetadata = pip.version[0] > 23 || (pip.version[0] === 23 && pip.version[1] >= 1)
      // pip 23.0 knows only PEP 658's attribute, which Trove leaves out (PEP 714): it downloads the wheel to read it.
      expect(delta, `pip ${pip.version.join('.')}`).toEqual(usesMetadata ? { rejectedWheel: 0, rejectedMetadata: 1, metadata: 2 } : { rejectedWheel: 1, rejectedMetadata: 0, metadata: 0 })
    }
  })

  it('3. pip installs with --require-hashes, credentials in the index URL', async () => {
    const requirements = await home.write('requirements.txt', `trove-demo==1.0.0 --hash=sha256:${wheel1.sha256} --hash=sha256:${sdist1.sha256}\n`)
    const target = home.path('site-hashes')
    const result = await home.pip([
      'install', '--no-cache-dir', '--only-binary', ':all:', '--require-hashes', '-r', requirements, '--target', target, '--index-url', indexUrl(devUrl, 'pylocal'),
    ])
    expect(result.code, result.output).toBe(0)
    expect(result.output).toMatch(/Successfully installed trove-demo-1\.0\.0|Successfully installed Trove_Demo-1\.0\.0/i)
    const imported = await home.python(['-c', 'import trove_demo; print(trove_demo.VALUE)'], { PYTHONPATH: target })
    expect(imported.stdout.trim()).toBe('one')

    // A hash that does not match is refused by pip (the index served the right bytes; the pin is wrong).
    const wrong = await home.write('wrong.txt', `trove-demo==1.0.0 --hash=sha256:${'0'.repeat(64)}\n`)
    const refused = await home.pip(['install', '--no-cache-dir', '--only-binary', ':all:', '-r', wrong, '--target', home.path('site-wrong'), '--index-url', indexUrl(devUrl, 'pylocal')])
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/THESE PACKAGES DO NOT MATCH THE HASHES/)
  })

  it('4. pip reads the credentials from a pip.conf (PIP_CONFIG_FILE) and picks the newest version', async () => {
    const conf = await home.write('pip.conf', `[global]\nindex-url = ${indexUrl(devUrl, 'pylocal')}\nno-cache-dir = true\n`)
    const target = home.path('site-conf')
    const result = await home.pip(['install', '--only-binary', ':all:', '--target', target, 'Trove.Demo'], { PIP_CONFIG_FILE: conf })
    expect(result.code, result.output).toBe(0)
    expect((await home.python(['-c', 'import trove_demo; print(trove_demo.VALUE)'], { PYTHONPATH: target })).stdout.trim()).toBe('one-one')

    const download = await home.pip(['download', '--no-deps', '--no-binary', ':all:', '--no-build-isolation', '-d', home.path('downloads'), 'trove-demo==1.0.0'], { PIP_CONFIG_FILE: conf })
    expect(download.code, download.output).toBe(0)
    expect(download.output).toContain(sdist1.filename)
  })

  it('5. pip without credentials is refused with 401 and a Basic challenge', async () => {
    const response = await dev.anonymous.get(`${API}/pylocal/simple/trove-demo/`)
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Basic realm="Trove"')
    const result = await home.pip(['download', '-vv', '--no-cache-dir', '--no-deps', '-d', home.path('anon'), '--index-url', indexUrl(server.url, 'pylocal'), 'trove-demo'])
    expect(result.code).not.toBe(0)
    expect(result.output).toMatch(/401 Client Error: authentication is required/)
  })

  it('6. refuses a file that already exists, as PyPI does (twine prints the reason; --skip-existing skips it)', async () => {
    const again = await twineUpload('pylocal', [home.path('dist', wheel1.filename)])
    expect(again.code).not.toBe(0)
    expect(again.output).toContain(`HTTPError: 400 Bad Request from ${uploadUrl('pylocal')}`)
    expect(again.output).toContain(`File already exists: '${wheel1.filename}'`)
    const skipped = await twineUpload('pylocal', [home.path('dist', wheel1.filename)], ['--skip-existing'])
    expect(skipped.code, skipped.output).toBe(0)
    expect(skipped.output).toMatch(/Skipping .* because it appears to already exist/)
  })

  it('7. refuses an invalid version with what twine prints, and stores nothing', async () => {
    const bad = await buildWheel({ name: 'Trove_Demo', version: '2.0.x', value: 'bad' })
    const file = await home.write(`bad/${bad.filename}`, bad.bytes)
    const result = await twineUpload('pylocal', [file])
    expect(result.code).not.toBe(0)
    expect(result.output).toContain('HTTPError: 400 Bad Request')
    expect(result.output).toContain("'2.0.x' is an invalid value for Version")
    expect((await jsonPage('pylocal', 'trove-demo')).files.map((f) => f.filename)).not.toContain(bad.filename)
  })

  it('8. refuses what twine never sends: a wrong digest, a mismatched name or version, bad tags, other files', async () => {
    const before = (await jsonPage('pylocal', 'trove-demo')).files.map((f) => f.filename)
    const wheel = await buildWheel({ name: 'Trove_Demo', version: '3.0.0' })
    const fields = { name: 'Trove_Demo', version: '3.0.0', filetype: 'bdist_wheel', sha256_digest: wheel.sha256 }
    const cases: [Record<string, string>, { name: string; bytes: Buffer }, RegExp][] = [
      [{ ...fields, sha256_digest: 'a'.repeat(64) }, { name: wheel.filename, bytes: wheel.bytes }, /^The digest supplied does not match a digest calculated from the uploaded file\.$/],
      [{ ...fields, name: 'other-project' }, { name: wheel.filename, bytes: wheel.bytes }, /^Start filename for 'other-project' with 'other_project-'/],
      [{ ...fields, version: '3.0.1' }, { name: wheel.filename, bytes: wheel.bytes }, /^Version in filename should be '3\.0\.1' not '3\.0\.0'\.$/],
      [{ ...fields, version: 'three' }, { name: wheel.filename, bytes: wheel.bytes }, /^'three' is an invalid value for Version/],
      [fields, { name: 'trove_demo-3.0.0-py3-none-any!.whl', bytes: wheel.bytes }, /^Invalid wheel tag 'any!'/],
      [fields, { name: 'trove_demo-3.0.0-py3-any.whl', bytes: wheel.bytes }, /^Invalid wheel filename \(wrong number of parts\)/],
      [{ ...fields, sha256_digest: '' }, { name: 'trove_demo-3.0.0.exe', bytes: wheel.bytes }, /^Invalid file extension: Use \.tar\.gz, \.whl or \.zip/],
      [{ ...fields, sha256_digest: '' }, { name: wheel.filename, bytes: Buffer.from('not a zip') }, /^Invalid distribution file: the wheel is not a valid zip archive/],
    ]
    for (const [form, file, message] of cases) {
      const response = await postUpload('pylocal', form, file)
      expect(response.status, `${file.name}: ${response.text}`).toBe(400)
      expect(response.reason).toMatch(message)
      expect(response.text).toContain(response.reason.replace(/\.\.\.$/, ''))
    }
    // A wheel whose METADATA says another version than its name.
    const lying = await buildWheel({ name: 'Trove_Demo', version: '3.0.1' })
    const response = await postUpload('pylocal', { ...fields, sha256_digest: lying.sha256 }, { name: wheel.filename, bytes: lying.bytes })
    expect(response.status).toBe(400)
    expect(response.reason).toBe("The wheel's METADATA has version '3.0.1', not '3.0.0'.")
    // Nothing of it is visible.
    expect((await jsonPage('pylocal', 'trove-demo')).files.map((f) => f.filename)).toEqual(before)
    // A reader may not upload.
    await createUser(admin, 'reader', 'secret-pw-1')
    await grant(admin, 'pylocal', 'reader', ['read'])
    const denied = await home.twine(['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', uploadUrl('pylocal'), '-u', 'reader', '-p', 'secret-pw-1', home.path('dist', wheel1.filename)])
    expect(denied.code).not.toBe(0)
    expect(denied.output).toContain('HTTPError: 403 Forbidden')
    expect(denied.output).toContain("user 'reader' may not deploy on 'pylocal'")
  })

  it('9. yanks through the properties API (PEP 592): pip skips a yanked version unless pinned', async () => {
    const set = await dev.put(`/artifactory/api/storage/pylocal/trove-demo/1.1.0?properties=pypi.yanked=broken%20build&recursive=1`)
    expect(set.status, set.text).toBe(204)
    const page = await jsonPage('pylocal', 'trove-demo')
    expect(page.files.find((f) => f.filename === wheel2.filename)?.yanked).toBe('broken build')
    expect(page.files.find((f) => f.filename === wheel1.filename)?.yanked).toBe(false)
    const html = await dev.get(`${API}/pylocal/simple/trove-demo/`)
    expect(html.text).toMatch(new RegExp(`data-yanked="broken build">${wheel2.filename.replace(/\./g, '\\.')}<`))

    const target = home.path('site-yanked')
    const result = await home.pip(['install', '--no-cache-dir', '--only-binary', ':all:', '--target', target, '--index-url', indexUrl(devUrl, 'pylocal'), 'trove-demo'])
    expect(result.code, result.output).toBe(0)
    expect((await home.python(['-c', 'import trove_demo; print(trove_demo.VALUE)'], { PYTHONPATH: target })).stdout.trim()).toBe('one')
    const pinned = await home.pip(['install', '--no-cache-dir', '--only-binary', ':all:', '--target', home.path('site-pinned'), '--index-url', indexUrl(devUrl, 'pylocal'), 'trove-demo==1.1.0'])
    expect(pinned.code, pinned.output).toBe(0)
    expect(pinned.output).toMatch(/yanked.*broken build/i)

    // Unyank: remove the property.
    const unset = await dev.delete(`/artifactory/api/storage/pylocal/trove-demo/1.1.0?properties=pypi.yanked&recursive=1`)
    expect(unset.status, unset.text).toBe(204)
    expect((await jsonPage('pylocal', 'trove-demo')).files.every((f) => f.yanked === false)).toBe(true)
  })

  it('10. deletes a file or a whole version through the REST API; the pages follow', async () => {
    const file = await dev.delete(`/artifactory/pylocal/trove-demo/1.0.0/${sdist1.filename}`)
    expect(file.status, file.text).toBe(204)
    expect((await jsonPage('pylocal', 'trove-demo')).files.map((f) => f.filename)).toEqual([wheel1.filename, wheel2.filename])
    const version = await dev.delete('/artifactory/pylocal/trove-demo/1.1.0')
    expect(version.status, version.text).toBe(204)
    expect((await jsonPage('pylocal', 'trove-demo')).files.map((f) => f.filename)).toEqual([wheel1.filename])
    expect((await dev.get(`${API}/pylocal/packages/trove-demo/1.1.0/${wheel2.filename}.metadata`)).status).toBe(404)
    // Deleted, the version can be uploaded again.
    const again = await twineUpload('pylocal', [home.path('dist', wheel2.filename)])
    expect(again.code, again.output).toBe(0)
  })

  it('11. refuses a wheel without RECORD, or whose RECORD does not describe its files (PEP 427), and stores nothing', async () => {
    const before = (await jsonPage('pylocal', 'trove-demo')).files.map((f) => f.filename)

    // 1. twine uploads a wheel without RECORD: the answer is PyPI's, word for word.
    const bare = await buildWheel({ name: 'Trove_Demo', version: '4.0.0', editRecord: () => undefined })
    const bareFile = await home.write(`norecord/${bare.filename}`, bare.bytes)
    const refused = await twineUpload('pylocal', [bareFile])
    expect(refused.code).not.toBe(0)
    expect(refused.output).toContain(`HTTPError: 400 Bad Request from ${uploadUrl('pylocal')}`)
    expect(refused.output).toContain(`Wheel '${bare.filename}' does not contain the required RECORD file: Trove_Demo-4.0.0.dist-info/RECORD`)

    // 2. What the client would do with it: Debian's pip cannot install a wheel without RECORD.
    const install = await home.pip(['install', '--no-index', '--no-cache-dir', '--no-deps', '--target', home.path('site-norecord'), bareFile])
    expect(install.code).not.toBe(0)
    expect(install.output).toMatch(/ERROR: Could not install packages due to an OSError: .*RECORD/)

    // 3. RECORDs that do not describe the files. pip 23 installs these without looking, so the
    //    repository is where they are caught (the specification asks installers to check).
    const edit = (path: string, change: (row: string) => string | undefined) => (rows: string[]) =>
      rows.flatMap((row) => (row.startsWith(`${path},`) ? [change(row)].filter((r): r is string => r !== undefined) : [row]))
    const broken: [string, DistOptions['editRecord'], RegExp][] = [
      ['a file it does not list', edit('trove_demo/__init__.py', () => undefined), /'trove_demo\/__init__\.py' is not listed in RECORD/],
      ['a file the wheel lacks', (rows) => [`trove_demo/gone.py,sha256=${'A'.repeat(43)},1`, ...rows], /RECORD lists 'trove_demo\/gone\.py', which is not in the wheel/],
      ['a hash of other bytes', edit('trove_demo/__init__.py', (row) => row.replace(/sha256=[^,]+/, `sha256=${'A'.repeat(43)}`)), /the sha256 hash of 'trove_demo\/__init__\.py' does not match RECORD/],
      ['an md5 hash', edit('trove_demo/__init__.py', (row) => row.replace(/sha256=[^,]+/, 'md5=1B2M2Y8AsgTpgAmY7PhCfg')), /RECORD has a md5 hash for 'trove_demo\/__init__\.py'/],
    ]
    for (const [label, editRecord, message] of broken) {
      const wheel = await buildWheel({ name: 'Trove_Demo', version: '4.0.0', editRecord })
      const response = await postUpload('pylocal', { name: 'Trove_Demo', version: '4.0.0', filetype: 'bdist_wheel', sha256_digest: wheel.sha256 }, { name: wheel.filename, bytes: wheel.bytes })
      expect(response.status, `${label}: ${response.text}`).toBe(400)
      expect(response.reason).toMatch(new RegExp(`^Wheel '${wheel.filename.replace(/\./g, '\\.')}' has an invalid RECORD file: `))
      expect(response.reason, label).toMatch(message)
    }
    expect((await jsonPage('pylocal', 'trove-demo')).files.map((f) => f.filename)).toEqual(before)
    expect((await dev.get(`/artifactory/api/storage/pylocal/trove-demo/4.0.0`)).status).toBe(404)

    // 4. The same wheel with its RECORD is accepted; so is one built by Debian's setuptools
    //    (bdist_wheel), whose RECORD quotes the paths that need it.
    const whole = await buildWheel({ name: 'Trove_Demo', version: '4.0.0' })
    const accepted = await twineUpload('pylocal', [await home.write(`record/${whole.filename}`, whole.bytes)])
    expect(accepted.code, accepted.output).toBe(0)
    await home.write('project/setup.py', 'from setuptools import setup\nsetup(name="Trove_Demo", version="4.0.1", packages=["trove_demo"], package_data={"trove_demo": ["*.txt"]})\n')
    await home.write('project/trove_demo/__init__.py', 'VALUE = "built"\n')
    await home.write('project/trove_demo/a,b "quoted".txt', 'data\n')
    const built = await runCommand(PYTHON, ['setup.py', '-q', 'bdist_wheel', '-d', home.path('built')], { cwd: home.path('project'), env: home.env() })
    expect(built.code, built.output).toBe(0)
    const builtWheel = home.path('built', 'Trove_Demo-4.0.1-py3-none-any.whl')
    const uploaded = await twineUpload('pylocal', [builtWheel])
    expect(uploaded.code, uploaded.output).toBe(0)
    expect((await jsonPage('pylocal', 'trove-demo')).files.map((f) => f.filename)).toEqual([...before, whole.filename, 'Trove_Demo-4.0.1-py3-none-any.whl'])
  })
})
