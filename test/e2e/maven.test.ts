/**
 * Maven repositories over HTTP, as `mvn deploy` and Gradle speak to them (PUT of each file, then
 * its checksums, then `maven-metadata.xml`), with the refusals asserted on status, Artifactory's
 * JSON error body and on nothing having changed. Remote and virtual resolution go through a second
 * Trove on 127.0.0.1. The real `mvn` runs in test/conformance/maven.
 */
import { createHash } from 'node:crypto'
import { XMLParser } from 'fast-xml-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, expectRestError, randomPayload } from './generic-support.js'

const backends = await metadataBackends()

const ALLOW_LOOPBACK = { remote: { allowedUpstreamHosts: ['127.0.0.1'] } }

const hex = (algorithm: string, content: Buffer | string) => createHash(algorithm).update(content).digest('hex')

function pom(groupId: string, artifactId: string, version: string, extra = ''): string {
  return `<?xml version="1.0"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>${extra}<groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></project>\n`
}

const xml = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'version' || name === 'snapshotVersion' })
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const metadataOf = (text: string): any => xml.parse(text).metadata

describe.each(backends)('Maven repositories over HTTP (%s)', (backend) => {
  let server: TestServer
  let admin: Client
  let upstream: TestServer
  let upstreamAdmin: Client

  const createMaven = async (target: Client, key: string, config: Record<string, unknown> = {}) => {
    const response = await target.put(`/artifactory/api/repositories/${key}`, { body: { key, rclass: 'local', packageType: 'maven', ...config } })
    expect(response.status, response.text).toBe(200)
  }
  /** Deploys a file and its checksums as mvn does. */
  const deployFile = async (target: Client, repoPath: string, content: Buffer | string) => {
    const put = await target.put(`/artifactory/${repoPath}`, { body: content })
    expect(put.status, put.text).toBe(201)
    for (const algorithm of ['sha1', 'md5']) {
      const checksum = await target.put(`/artifactory/${repoPath}.${algorithm}`, { body: hex(algorithm, content) })
      expect(checksum.status, checksum.text).toBe(201)
    }
  }

  beforeAll(async () => {
    server = await startTestServer({ backend, settings: ALLOW_LOOPBACK })
    admin = new Client(server.url, server.adminAuth)
    upstream = await startTestServer()
    upstreamAdmin = new Client(upstream.url, upstream.adminAuth)
    await createMaven(admin, 'libs-release-local', { handleSnapshots: false })
    await createMaven(admin, 'libs-snapshot-local', { handleReleases: false, maxUniqueSnapshots: 2 })
    await createMaven(upstreamAdmin, 'central-like', { anonymousRead: true })
  })

  afterAll(async () => {
    await server?.close()
    await upstream?.close()
  })

  it('deploys a release and serves every checksum, generated from the stored bytes', async () => {
    const jar = randomPayload(200 * 1024 + 3)
    await deployFile(admin, 'libs-release-local/org/acme/lib/1.0/lib-1.0.jar', jar)
    await deployFile(admin, 'libs-release-local/org/acme/lib/1.0/lib-1.0.pom', pom('org.acme', 'lib', '1.0'))

    const download = await admin.get('/artifactory/libs-release-local/org/acme/lib/1.0/lib-1.0.jar')
    expect(download.status).toBe(200)
    expect(hex('sha256', download.body)).toBe(hex('sha256', jar))
    for (const algorithm of ['sha1', 'md5', 'sha256', 'sha512']) {
      const checksum = await admin.get(`/artifactory/libs-release-local/org/acme/lib/1.0/lib-1.0.jar.${algorithm}`)
      expect(checksum.status, `${algorithm}: ${checksum.text}`).toBe(200)
      expect(checksum.text).toBe(hex(algorithm, jar))
    }
    // sha512 of a file never uploaded with one: computed while deploying, kept as a property.
    const properties = await admin.get('/artifactory/api/storage/libs-release-local/org/acme/lib/1.0/lib-1.0.jar?properties')
    expect(properties.json()).toMatchObject({ properties: { 'trove.sha512': [hex('sha512', jar)] } })
    // The client's checksum files were checked, not stored: the folder holds the two files only.
    const folder = await admin.get('/artifactory/api/storage/libs-release-local/org/acme/lib/1.0')
    expect(folder.status, folder.text).toBe(200)
    expect((folder.json() as { children: { uri: string }[] }).children.map((c) => c.uri).sort()).toEqual(['/lib-1.0.jar', '/lib-1.0.pom'])
    // And the storage API reports the Maven file like any other.
    const info = await admin.get('/artifactory/api/storage/libs-release-local/org/acme/lib/1.0/lib-1.0.jar')
    expect(info.json()).toMatchObject({ repo: 'libs-release-local', path: '/org/acme/lib/1.0/lib-1.0.jar', size: String(jar.length), checksums: { sha1: hex('sha1', jar) } })
  })

  it('generates maven-metadata.xml per artifact, ignores the uploaded one, and serves its checksums', async () => {
    for (const version of ['1.9', '1.10', '1.2']) {
      await deployFile(admin, `libs-release-local/org/acme/meta/${version}/meta-${version}.pom`, pom('org.acme', 'meta', version))
    }
    // mvn uploads its own metadata (and its checksums); it is accepted and dropped.
    const bogus = '<metadata><groupId>x</groupId><artifactId>y</artifactId><versioning><versions><version>9.9</version></versions></versioning></metadata>'
    const upload = await admin.put('/artifactory/libs-release-local/org/acme/meta/maven-metadata.xml', { body: bogus })
    expect(upload.status, upload.text).toBe(201)
    expect((await admin.put('/artifactory/libs-release-local/org/acme/meta/maven-metadata.xml.sha1', { body: hex('sha1', bogus) })).status).toBe(201)

    const response = await admin.get('/artifactory/libs-release-local/org/acme/meta/maven-metadata.xml')
    expect(response.status, response.text).toBe(200)
    expect(response.headers['content-type']).toMatch(/xml/)
    const metadata = metadataOf(response.text)
    expect(metadata).toMatchObject({ groupId: 'org.acme', artifactId: 'meta', versioning: { latest: '1.10', release: '1.10' } })
    expect(metadata.versioning.versions.version).toEqual(['1.2', '1.9', '1.10'])
    expect(metadata.versioning.lastUpdated).toMatch(/^\d{14}$/)
    for (const algorithm of ['sha1', 'md5', 'sha256', 'sha512']) {
      const checksum = await admin.get(`/artifactory/libs-release-local/org/acme/meta/maven-metadata.xml.${algorithm}`)
      expect(checksum.text).toBe(hex(algorithm, response.text))
    }
    expectRestError(await admin.get('/artifactory/libs-release-local/org/acme/nothing/maven-metadata.xml'), 404)
  })

  it('refuses redeploying a release, and keeps the first one', async () => {
    const path = '/artifactory/libs-release-local/org/acme/lib/1.0/lib-1.0.jar'
    const before = await admin.get(path)
    const again = await admin.put(path, { body: 'other bytes' })
    expectRestError(again, 409, /already deployed in 'libs-release-local' and releases are immutable/)
    // A checksum deploy (X-Checksum-Deploy) of content Trove already has goes through the same checks.
    const other = await admin.put('/artifactory/libs-release-local/org/acme/other/1.0/other-1.0.jar', { body: 'other bytes' })
    expect(other.status, other.text).toBe(201)
    const byChecksum = await admin.put(path, { headers: { 'x-checksum-deploy': 'true', 'x-checksum-sha256': hex('sha256', 'other bytes') } })
    expectRestError(byChecksum, 409, /releases are immutable/)
    expect(hex('sha256', (await admin.get(path)).body)).toBe(hex('sha256', before.body))
    const fresh = await admin.put('/artifactory/libs-release-local/org/acme/lib/1.5/lib-1.5.jar', {
      headers: { 'x-checksum-deploy': 'true', 'x-checksum-sha256': hex('sha256', 'other bytes') },
    })
    expect(fresh.status, fresh.text).toBe(201)
    expect((await admin.get('/artifactory/libs-release-local/org/acme/lib/1.5/lib-1.5.jar.sha512')).text).toBe(hex('sha512', 'other bytes'))
  })

  it('checks uploaded checksums against the stored file', async () => {
    const path = 'libs-release-local/org/acme/lib/1.0/lib-1.0.jar'
    const wrong = await admin.put(`/artifactory/${path}.sha1`, { body: '0'.repeat(40) })
    expectRestError(wrong, 409, /sha1 checksum mismatch for 'org\/acme\/lib\/1.0\/lib-1.0.jar': the uploaded checksum is 0{40} but the stored file's is [0-9a-f]{40}/)
    expectRestError(await admin.put(`/artifactory/${path}.sha256`, { body: 'not-a-checksum' }), 400, /does not hold a sha256 checksum/)
    // A checksum before its file (Maven and Gradle upload the file first): refused, nothing kept.
    expectRestError(
      await admin.put('/artifactory/libs-release-local/org/acme/lib/1.1/lib-1.1.jar.sha1', { body: '0'.repeat(40) }),
      409,
      /deploy the file before its .sha1 checksum/,
    )
    expectRestError(await admin.get('/artifactory/libs-release-local/org/acme/lib/1.1/lib-1.1.jar.sha1'), 404)
    // A matching sha512 with a file name after it, as sha512sum writes it.
    const jar = await admin.get(`/artifactory/${path}`)
    const ok = await admin.put(`/artifactory/${path}.sha512`, { body: `${hex('sha512', jar.body)}  lib-1.0.jar\n` })
    expect(ok.status, ok.text).toBe(201)
  })

  it('refuses a POM whose coordinates do not match its path, and stores nothing', async () => {
    const path = '/artifactory/libs-release-local/org/acme/lib/2.0/lib-2.0.pom'
    expectRestError(
      await admin.put(path, { body: pom('org.other', 'lib', '2.0') }),
      409,
      "the POM's coordinates org.other:lib:2.0 do not match the path's org.acme:lib:2.0 (groupId differ)",
    )
    expectRestError(await admin.get(path), 404)
    expectRestError(await admin.put(path, { body: 'not xml <' }), 400, /POM/)
    // groupId and version inherited from the parent are what Maven reads.
    const inherited = `<project><parent><groupId>org.acme</groupId><artifactId>parent</artifactId><version>2.0</version></parent><artifactId>lib</artifactId></project>`
    expect((await admin.put(path, { body: inherited })).status).toBe(201)
  })

  it('refuses paths outside the Maven layout and versions the repository does not handle', async () => {
    expectRestError(await admin.put('/artifactory/libs-release-local/org/acme/lib/3.0/lib-3.1.jar', { body: 'x' }), 400, /does not match its version folder 'lib\/3.0'/)
    expectRestError(await admin.put('/artifactory/libs-release-local/lib/3.0/lib-3.0.jar', { body: 'x' }), 400, /not a Maven artifact path/)
    expectRestError(await admin.put('/artifactory/libs-release-local/org/acme/lib/..%2F..%2Fx/lib.jar', { body: 'x' }), 400)
    expectRestError(
      await admin.put('/artifactory/libs-release-local/org/acme/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar', { body: 'x' }),
      409,
      /does not accept SNAPSHOT versions \(handleSnapshots is false\)/,
    )
    expectRestError(
      await admin.put('/artifactory/libs-snapshot-local/org/acme/lib/1.0/lib-1.0.jar', { body: 'x' }),
      409,
      /does not accept release versions \(handleReleases is false\)/,
    )
  })

  it('generates SNAPSHOT metadata from timestamped builds and keeps the last maxUniqueSnapshots', async () => {
    const base = 'libs-snapshot-local/org/acme/app/1.0-SNAPSHOT'
    const builds = [
      { ts: '20240101.100000', n: 1 },
      { ts: '20240101.110000', n: 2 },
      { ts: '20240101.120000', n: 3 },
    ]
    for (const { ts, n } of builds) {
      await deployFile(admin, `${base}/app-1.0-${ts}-${n}.pom`, pom('org.acme', 'app', '1.0-SNAPSHOT'))
      await deployFile(admin, `${base}/app-1.0-${ts}-${n}.jar`, `jar ${n}`)
      if (n === 3) await deployFile(admin, `${base}/app-1.0-${ts}-${n}-sources.jar`, 'sources 3')
    }
    const response = await admin.get(`/artifactory/${base}/maven-metadata.xml`)
    expect(response.status, response.text).toBe(200)
    const metadata = metadataOf(response.text)
    expect(metadata).toMatchObject({
      groupId: 'org.acme',
      artifactId: 'app',
      version: ['1.0-SNAPSHOT'],
      versioning: { snapshot: { timestamp: '20240101.120000', buildNumber: '3' } },
    })
    expect(metadata.versioning.snapshotVersions.snapshotVersion).toEqual([
      { extension: 'jar', value: '1.0-20240101.120000-3', updated: '20240101120000' },
      { classifier: 'sources', extension: 'jar', value: '1.0-20240101.120000-3', updated: '20240101120000' },
      { extension: 'pom', value: '1.0-20240101.120000-3', updated: '20240101120000' },
    ])
    // maxUniqueSnapshots 2: build 1 went, builds 2 and 3 stay.
    expectRestError(await admin.get(`/artifactory/${base}/app-1.0-20240101.100000-1.jar`), 404)
    expect((await admin.get(`/artifactory/${base}/app-1.0-20240101.110000-2.jar`)).text).toBe('jar 2')
    const artifactLevel = metadataOf((await admin.get('/artifactory/libs-snapshot-local/org/acme/app/maven-metadata.xml')).text)
    expect(artifactLevel.versioning).toMatchObject({ latest: '1.0-SNAPSHOT', versions: { version: ['1.0-SNAPSHOT'] } })
    expect(artifactLevel.versioning.release).toBeUndefined()
  })

  it('resolves through a virtual over a local and a remote, with merged metadata', async () => {
    // The upstream Trove has 1.0 and 2.0 of org.up:shared; the local here has 1.5.
    const upstreamJar = randomPayload(64 * 1024)
    for (const version of ['1.0', '2.0']) {
      await deployFile(upstreamAdmin, `central-like/org/up/shared/${version}/shared-${version}.jar`, upstreamJar)
      await deployFile(upstreamAdmin, `central-like/org/up/shared/${version}/shared-${version}.pom`, pom('org.up', 'shared', version))
    }
    await deployFile(admin, 'libs-release-local/org/up/shared/1.5/shared-1.5.pom', pom('org.up', 'shared', '1.5'))
    const remote = await admin.put('/artifactory/api/repositories/maven-remote', {
      body: { key: 'maven-remote', rclass: 'remote', packageType: 'maven', url: `${upstream.url}/artifactory/central-like` },
    })
    expect(remote.status, remote.text).toBe(200)
    const virtual = await admin.put('/artifactory/api/repositories/maven-virtual', {
      body: {
        key: 'maven-virtual',
        rclass: 'virtual',
        packageType: 'maven',
        repositories: ['libs-release-local', 'maven-remote'],
        defaultDeploymentRepo: 'libs-release-local',
      },
    })
    expect(virtual.status, virtual.text).toBe(200)

    const merged = await admin.get('/artifactory/maven-virtual/org/up/shared/maven-metadata.xml')
    expect(merged.status, merged.text).toBe(200)
    const metadata = metadataOf(merged.text)
    expect(metadata.versioning).toMatchObject({ latest: '2.0', release: '2.0', versions: { version: ['1.0', '1.5', '2.0'] } })
    expect((await admin.get('/artifactory/maven-virtual/org/up/shared/maven-metadata.xml.sha1')).text).toBe(hex('sha1', merged.text))

    // Files come from the first member that has them: the remote pulls through and caches.
    const jar = await admin.get('/artifactory/maven-virtual/org/up/shared/2.0/shared-2.0.jar')
    expect(jar.status).toBe(200)
    expect(hex('sha256', jar.body)).toBe(hex('sha256', upstreamJar))
    expect((await admin.get('/artifactory/maven-virtual/org/up/shared/2.0/shared-2.0.jar.sha1')).text).toBe(hex('sha1', upstreamJar))
    expect((await admin.get('/artifactory/maven-remote/org/up/shared/2.0/shared-2.0.jar.sha512')).text).toBe(hex('sha512', upstreamJar))
    const cached = await admin.get('/artifactory/api/storage/maven-remote/org/up/shared/2.0/shared-2.0.jar')
    expect(cached.json()).toMatchObject({ remoteUrl: `${upstream.url}/artifactory/central-like/org/up/shared/2.0/shared-2.0.jar` })
    // The remote's own metadata is the upstream's (cached as metadata, re-checked after the TTL).
    const remoteMetadata = metadataOf((await admin.get('/artifactory/maven-remote/org/up/shared/maven-metadata.xml')).text)
    expect(remoteMetadata.versioning.versions.version).toEqual(['1.0', '2.0'])
    // A new upstream version shows once the metadata TTL (retrievalCachePeriodSecs) has passed, not before.
    await deployFile(upstreamAdmin, 'central-like/org/up/shared/2.1/shared-2.1.pom', pom('org.up', 'shared', '2.1'))
    const stillCached = metadataOf((await admin.get('/artifactory/maven-remote/org/up/shared/maven-metadata.xml')).text)
    expect(stillCached.versioning.versions.version).toEqual(['1.0', '2.0'])
    const ttl = await admin.post('/artifactory/api/repositories/maven-remote', { body: { retrievalCachePeriodSecs: 0 } })
    expect(ttl.status, ttl.text).toBe(200)
    const refreshed = metadataOf((await admin.get('/artifactory/maven-virtual/org/up/shared/maven-metadata.xml')).text)
    expect(refreshed.versioning).toMatchObject({ latest: '2.1', release: '2.1', versions: { version: ['1.0', '1.5', '2.0', '2.1'] } })

    // A deploy through the virtual lands in its default deployment repository, with the same checks.
    await deployFile(admin, 'maven-virtual/org/up/shared/3.0/shared-3.0.pom', pom('org.up', 'shared', '3.0'))
    expect((await admin.get('/artifactory/libs-release-local/org/up/shared/3.0/shared-3.0.pom')).status).toBe(200)
    expectRestError(await admin.put('/artifactory/maven-virtual/org/up/shared/3.0/shared-3.0.pom', { body: pom('org.up', 'shared', '3.0') }), 409)
  })

  it('refuses deploys in read-only mode and still serves reads', async () => {
    const on = await admin.put('/api/v1/system/read-only', { body: { enabled: true, message: 'maintenance' } })
    expect(on.status, on.text).toBe(200)
    try {
      expectRestError(await admin.put('/artifactory/libs-release-local/org/acme/ro/1.0/ro-1.0.jar', { body: 'x' }), 503, /maintenance/)
      expect((await admin.get('/artifactory/libs-release-local/org/acme/meta/maven-metadata.xml')).status).toBe(200)
      expect((await admin.get('/artifactory/libs-release-local/org/acme/lib/1.0/lib-1.0.jar.sha512')).status).toBe(200)
    } finally {
      await admin.put('/api/v1/system/read-only', { body: { enabled: false } })
    }
    expectRestError(await admin.get('/artifactory/libs-release-local/org/acme/ro/1.0/ro-1.0.jar'), 404)
  })
})
