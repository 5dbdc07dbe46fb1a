/**
 * The real `mvn` (Apache Maven 3.8.7, wagon HTTP transport) against Trove on 127.0.0.1, with a
 * settings.xml as a Java team writes it: credentials per server id and one mirror of everything
 * to a Trove virtual repository. Maven's own plugins resolve through that virtual too: a remote
 * member's upstream is a static server over the machine's Maven repositories (see
 * test/helpers/maven.ts), so every build starts from an empty local repository and no byte
 * comes from the internet. A second Trove is the upstream of another remote member.
 *
 * Covered: `deploy:deploy-file`; a project's `mvn deploy` of a release (and its refused
 * redeploy) and of a SNAPSHOT three times (timestamps, buildNumber 1→2→3, maxUniqueSnapshots
 * pruning); a build whose dependencies (a release from the second Trove, a SNAPSHOT from the
 * local snapshot repository) resolve through the virtual; `dependency:get`.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, createUser, grant } from '../../e2e/generic-support.js'
import {
  DEBIAN_BEANUTILS,
  PLUGINS,
  runMvn,
  startStaticMavenRepository,
  tail,
  writeProject,
  writeSettings,
  type StaticMavenRepository,
} from '../../helpers/maven.js'
import { requireClients } from '../../helpers/clients.js'
import { metadataBackends } from '../../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js'

const mvnInstalled = await requireClients('the mvn conformance suite', ['mvn'])
const beanutils = mvnInstalled && (await requireClients('mvn dependency:get', [DEBIAN_BEANUTILS]))

const backends = await metadataBackends()

const MVN_TIMEOUT = 240_000
/** A test runs mvn up to four times; on a loaded two-core machine one run can take half a minute. */
const TEST_TIMEOUT = 600_000
const xml = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'version' || name === 'snapshotVersion' })
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const metadataOf = (text: string): any => xml.parse(text).metadata
const sha1 = (content: Buffer) => createHash('sha1').update(content).digest('hex')

describe.skipIf(!mvnInstalled).each(backends)('mvn against Trove on %s', (backend) => {
  let server: TestServer
  let admin: Client
  let upstream: TestServer
  let plugins: StaticMavenRepository
  let work: string
  /** A settings.xml sharing one local repository across the deploy steps (plugins downloaded once). */
  let settings: string
  const developer = { id: 'trove', username: 'dev', password: 'dev-password-1' }

  const repoUrl = (key: string) => `${server.url}/artifactory/${key}`
  const mvn = (args: string[], cwd: string, settingsFile = settings) => runMvn(args, { cwd, settings: settingsFile, timeoutMs: MVN_TIMEOUT })
  const freshSettings = async (name: string) => {
    const file = join(work, `${name}.settings.xml`)
    await writeSettings(file, { localRepository: join(work, `${name}-m2`), mirrorUrl: repoUrl('maven-virtual'), servers: [developer] })
    return file
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'trove-mvn-'))
    server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
    admin = new Client(server.url, server.adminAuth)
    upstream = await startTestServer()
    plugins = await startStaticMavenRepository()
    const create = async (key: string, config: Record<string, unknown>) => {
      const response = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'maven', ...config } })
      expect(response.status, response.text).toBe(200)
    }
    await create('libs-release-local', { rclass: 'local', handleSnapshots: false })
    await create('libs-snapshot-local', { rclass: 'local', handleReleases: false, maxUniqueSnapshots: 2 })
    await create('plugins-remote', { rclass: 'remote', url: plugins.url })
    // The second Trove needs a login: the remote carries the upstream credentials.
    const upstreamAdmin = new Client(upstream.url, upstream.adminAuth)
    const central = await upstreamAdmin.put('/artifactory/api/repositories/central-like', { body: { key: 'central-like', rclass: 'local', packageType: 'maven' } })
    expect(central.status, central.text).toBe(200)
    await create('upstream-remote', { rclass: 'remote', url: `${upstream.url}/artifactory/central-like`, username: 'admin', password: ADMIN_PASSWORD })
    await create('maven-virtual', {
      rclass: 'virtual',
      repositories: ['libs-release-local', 'libs-snapshot-local', 'upstream-remote', 'plugins-remote'],
      defaultDeploymentRepo: 'libs-release-local',
    })
    // The developer reads and deploys with their own credentials (anonymous reads are off).
    await createUser(admin, developer.username, developer.password)
    for (const key of ['libs-release-local', 'libs-snapshot-local', 'plugins-remote', 'upstream-remote', 'maven-virtual']) {
      await grant(admin, key, developer.username, ['read', 'deploy'])
    }
    settings = await freshSettings('deployer')
  })

  afterAll(async () => {
    await plugins?.close()
    await server?.close()
    await upstream?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('deploys a file with deploy:deploy-file', async () => {
    const jar = Buffer.from(`not really a jar, but mvn does not care ${Date.now()}\n`)
    await writeFile(join(work, 'tool.jar'), jar)
    const run = await mvn(
      [
        `org.apache.maven.plugins:maven-deploy-plugin:${PLUGINS.deploy}:deploy-file`,
        `-Dfile=${join(work, 'tool.jar')}`,
        '-DgroupId=org.acme.tools',
        '-DartifactId=tool',
        '-Dversion=1.0',
        '-Dpackaging=jar',
        `-Durl=${repoUrl('libs-release-local')}`,
        '-DrepositoryId=trove',
      ],
      work,
    )
    expect(run.code, tail(run.output)).toBe(0)
    const stored = await admin.get('/artifactory/libs-release-local/org/acme/tools/tool/1.0/tool-1.0.jar')
    expect(stored.status).toBe(200)
    expect(sha1(stored.body)).toBe(sha1(jar))
    const storedPom = await admin.get('/artifactory/libs-release-local/org/acme/tools/tool/1.0/tool-1.0.pom')
    expect(storedPom.text).toContain('<artifactId>tool</artifactId>')
    const metadata = metadataOf((await admin.get('/artifactory/libs-release-local/org/acme/tools/tool/maven-metadata.xml')).text)
    expect(metadata).toMatchObject({ groupId: 'org.acme.tools', artifactId: 'tool', versioning: { release: '1.0', versions: { version: ['1.0'] } } })
    // Plugins came through Trove: the static upstream saw requests from Trove's remote, and Trove cached them.
    expect(plugins.requests.some((p) => p.includes('/maven-deploy-plugin/'))).toBe(true)
    const cached = await admin.get(`/artifactory/api/storage/plugins-remote/org/apache/maven/plugins/maven-deploy-plugin/${PLUGINS.deploy}`)
    expect(cached.status, cached.text).toBe(200)
  }, TEST_TIMEOUT)

  it('deploys with an access token as the password in settings.xml, as CI pipelines do', async () => {
    const created = await admin.asUser(developer.username, developer.password).post('/access/api/v1/tokens', { body: { description: 'maven ci' } })
    expect(created.status, created.text).toBe(200)
    const token = (created.json() as { access_token: string }).access_token
    const tokenSettings = join(work, 'token.settings.xml')
    await writeSettings(tokenSettings, {
      localRepository: join(work, 'deployer-m2'),
      mirrorUrl: repoUrl('maven-virtual'),
      servers: [{ id: 'trove', username: developer.username, password: token }],
    })
    await writeFile(join(work, 'tool-2.jar'), 'deployed with a token\n')
    const args = (version: string) => [
      `org.apache.maven.plugins:maven-deploy-plugin:${PLUGINS.deploy}:deploy-file`,
      `-Dfile=${join(work, 'tool-2.jar')}`,
      '-DgroupId=org.acme.tools',
      '-DartifactId=tool',
      `-Dversion=${version}`,
      '-Dpackaging=jar',
      `-Durl=${repoUrl('libs-release-local')}`,
      '-DrepositoryId=trove',
    ]
    const run = await mvn(args('2.0'), work, tokenSettings)
    expect(run.code, tail(run.output)).toBe(0)
    expect((await admin.get('/artifactory/libs-release-local/org/acme/tools/tool/2.0/tool-2.0.jar')).text).toBe('deployed with a token\n')
    // Once revoked, the token deploys nothing: mvn reports the 401.
    const { token_id: id } = created.json() as { token_id: string }
    expect((await admin.delete(`/access/api/v1/tokens/${id}`)).status).toBeLessThan(300)
    const refused = await mvn(args('2.1'), work, tokenSettings)
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/401|Unauthorized/)
    expect((await admin.get('/artifactory/libs-release-local/org/acme/tools/tool/2.1/tool-2.1.jar')).status).toBe(404)
  }, TEST_TIMEOUT)

  it("deploys a project's release with mvn deploy, and refuses redeploying it", async () => {
    const dir = join(work, 'hello')
    await writeProject(dir, {
      groupId: 'com.acme',
      artifactId: 'hello',
      version: '1.0',
      releases: { id: 'trove', url: repoUrl('libs-release-local') },
      snapshots: { id: 'trove', url: repoUrl('libs-snapshot-local') },
      sources: { 'com/acme/Hello.java': 'package com.acme;\npublic class Hello { public static String greet() { return "hello"; } }\n' },
    })
    const first = await mvn(['deploy'], dir)
    expect(first.code, tail(first.output)).toBe(0)
    const jar = await readFile(join(dir, 'target', 'hello-1.0.jar'))
    const stored = await admin.get('/artifactory/libs-release-local/com/acme/hello/1.0/hello-1.0.jar')
    expect(sha1(stored.body)).toBe(sha1(jar))
    expect((await admin.get('/artifactory/libs-release-local/com/acme/hello/1.0/hello-1.0.jar.sha1')).text).toBe(sha1(jar))
    const metadata = metadataOf((await admin.get('/artifactory/libs-release-local/com/acme/hello/maven-metadata.xml')).text)
    expect(metadata.versioning).toMatchObject({ latest: '1.0', release: '1.0', versions: { version: ['1.0'] } })

    // The same release again. The developer may deploy but not overwrite (delete): 403, as in Artifactory.
    const again = await mvn(['deploy'], dir)
    expect(again.code).not.toBe(0)
    expect(again.output).toMatch(/status: 403 Forbidden/)
    // The admin may overwrite files, but releases are immutable in a Maven repository: 409.
    const adminSettings = join(work, 'admin.settings.xml')
    await writeSettings(adminSettings, {
      localRepository: join(work, 'deployer-m2'),
      mirrorUrl: repoUrl('maven-virtual'),
      servers: [{ id: 'trove', username: 'admin', password: ADMIN_PASSWORD }],
    })
    const byAdmin = await mvn(['deploy'], dir, adminSettings)
    expect(byAdmin.code).not.toBe(0)
    expect(byAdmin.output).toMatch(/status: 409 Conflict/)
    expect(sha1((await admin.get('/artifactory/libs-release-local/com/acme/hello/1.0/hello-1.0.jar')).body)).toBe(sha1(jar))
  }, TEST_TIMEOUT)

  it('deploys a SNAPSHOT three times: timestamped builds 1, 2, 3, and keeps the last two', async () => {
    const dir = join(work, 'hello-snapshot')
    await writeProject(dir, {
      groupId: 'com.acme',
      artifactId: 'hello',
      version: '1.1-SNAPSHOT',
      releases: { id: 'trove', url: repoUrl('libs-release-local') },
      snapshots: { id: 'trove', url: repoUrl('libs-snapshot-local') },
      sources: { 'com/acme/Hello.java': 'package com.acme;\npublic class Hello { public static String greet() { return "hello snapshot"; } }\n' },
    })
    const base = '/artifactory/libs-snapshot-local/com/acme/hello/1.1-SNAPSHOT'
    const seen: { timestamp: string; buildNumber: string }[] = []
    for (let build = 1; build <= 3; build++) {
      const run = await mvn(['deploy'], dir)
      expect(run.code, tail(run.output)).toBe(0)
      const response = await admin.get(`${base}/maven-metadata.xml`)
      expect(response.status, response.text).toBe(200)
      const metadata = metadataOf(response.text)
      expect(metadata.versioning.snapshot.buildNumber).toBe(String(build))
      expect(metadata.versioning.snapshot.timestamp).toMatch(/^\d{8}\.\d{6}$/)
      const value = `1.1-${metadata.versioning.snapshot.timestamp}-${build}`
      expect(metadata.versioning.snapshotVersions.snapshotVersion).toEqual(
        expect.arrayContaining([expect.objectContaining({ extension: 'jar', value }), expect.objectContaining({ extension: 'pom', value })]),
      )
      // What mvn built is what the metadata points at.
      const jar = await admin.get(`${base}/hello-${value}.jar`)
      expect(sha1(jar.body)).toBe(sha1(await readFile(join(dir, 'target', 'hello-1.1-SNAPSHOT.jar'))))
      seen.push(metadata.versioning.snapshot)
      if (build < 3) await new Promise((r) => setTimeout(r, 1100)) // distinct timestamps (one-second resolution)
    }
    expect(new Set(seen.map((s) => s.timestamp)).size).toBe(3)
    // maxUniqueSnapshots 2: build 1 is gone, 2 and 3 stay.
    expect((await admin.get(`${base}/hello-1.1-${seen[0]!.timestamp}-1.jar`)).status).toBe(404)
    expect((await admin.get(`${base}/hello-1.1-${seen[1]!.timestamp}-2.jar`)).status).toBe(200)
    const listing = await admin.get(`/artifactory/api/storage/libs-snapshot-local/com/acme/hello/1.1-SNAPSHOT`)
    const names = (listing.json() as { children: { uri: string }[] }).children.map((c) => c.uri)
    expect(names.filter((n) => n.endsWith('.jar'))).toHaveLength(2)
  }, TEST_TIMEOUT)

  it('builds a project whose dependencies resolve through the virtual (local SNAPSHOT + remote release) from an empty local repository', async () => {
    // A release on the second Trove, deployed there by mvn (plugins still through the first Trove).
    const greetingDir = join(work, 'greeting')
    await writeProject(greetingDir, {
      groupId: 'org.up',
      artifactId: 'greeting',
      version: '1.0',
      releases: { id: 'upstream', url: `${upstream.url}/artifactory/central-like` },
      sources: { 'org/up/Greeting.java': 'package org.up;\npublic class Greeting { public static String of(String who) { return "hi " + who; } }\n' },
    })
    const upstreamSettings = join(work, 'upstream.settings.xml')
    await writeSettings(upstreamSettings, {
      localRepository: join(work, 'deployer-m2'),
      mirrorUrl: repoUrl('maven-virtual'),
      servers: [developer, { id: 'upstream', username: 'admin', password: ADMIN_PASSWORD }],
    })
    const deployed = await mvn(['deploy'], greetingDir, upstreamSettings)
    expect(deployed.code, tail(deployed.output)).toBe(0)

    const consumerDir = join(work, 'consumer')
    await writeProject(consumerDir, {
      groupId: 'com.acme',
      artifactId: 'consumer',
      version: '1.0',
      dependencies: [
        { groupId: 'org.up', artifactId: 'greeting', version: '1.0' },
        { groupId: 'com.acme', artifactId: 'hello', version: '1.1-SNAPSHOT' },
      ],
      sources: {
        'com/acme/Consumer.java':
          'package com.acme;\npublic class Consumer { public static String run() { return org.up.Greeting.of(Hello.greet()); } }\n',
      },
    })
    const consumerSettings = await freshSettings('consumer')
    const build = await mvn(['package'], consumerDir, consumerSettings)
    expect(build.code, tail(build.output)).toBe(0)
    // Every download was verified against Trove's checksums (mvn warns when one is missing or wrong).
    expect(build.output).not.toMatch(/Checksum validation failed|Could not validate integrity/)
    // The local repository started empty and now holds what the virtual served: the remote's release
    // and the newest timestamped build of the local SNAPSHOT.
    const m2 = join(work, 'consumer-m2')
    const greeting = await readFile(join(m2, 'org/up/greeting/1.0/greeting-1.0.jar'))
    expect(sha1(greeting)).toBe(sha1(await readFile(join(greetingDir, 'target', 'greeting-1.0.jar'))))
    const snapshotFiles = await readdir(join(m2, 'com/acme/hello/1.1-SNAPSHOT'))
    expect(snapshotFiles).toEqual(expect.arrayContaining([expect.stringMatching(/^hello-1\.1-\d{8}\.\d{6}-3\.jar$/)]))
    await stat(join(consumerDir, 'target', 'consumer-1.0.jar'))
    // The remote cached what it pulled, from where.
    const cached = await admin.get('/artifactory/api/storage/upstream-remote/org/up/greeting/1.0/greeting-1.0.jar')
    expect(cached.json()).toMatchObject({ remoteUrl: `${upstream.url}/artifactory/central-like/org/up/greeting/1.0/greeting-1.0.jar` })
  }, TEST_TIMEOUT)

  it.skipIf(!beanutils)('fetches an artifact with dependency:get through the virtual', async () => {
    const getSettings = await freshSettings('get')
    const run = await mvn(
      [`org.apache.maven.plugins:maven-dependency-plugin:${PLUGINS.dependency}:get`, '-Dartifact=org.up:greeting:1.0', '-Dtransitive=false'],
      work,
      getSettings,
    )
    expect(run.code, tail(run.output)).toBe(0)
    const folder = join(work, 'get-m2', 'org', 'up', 'greeting', '1.0')
    expect(await readdir(folder)).toEqual(expect.arrayContaining(['greeting-1.0.jar', 'greeting-1.0.pom']))
  }, TEST_TIMEOUT)

  it('refuses the build without credentials (anonymous reads are off)', async () => {
    const file = join(work, 'anonymous.settings.xml')
    await writeSettings(file, { localRepository: join(work, 'anonymous-m2'), mirrorUrl: repoUrl('maven-virtual'), servers: [] })
    const run = await mvn(
      [`org.apache.maven.plugins:maven-deploy-plugin:${PLUGINS.deploy}:help`],
      work,
      file,
    )
    expect(run.code).not.toBe(0)
    expect(run.output).toMatch(/401|Unauthorized|not authorized/i)
  }, TEST_TIMEOUT)
})
