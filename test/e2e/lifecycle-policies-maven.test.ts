/**
 * Cleanup policies and immutability rules on a Maven repository (docs/lifecycle.md): versions
 * deployed with Maven's HTTP PUTs (as mvn deploy sends them), a policy keeping the newest two
 * removes the rest (a SNAPSHOT folder with its timestamped builds included), maven-metadata.xml
 * no longer lists them, `mvn dependency:get` still resolves a kept version and no longer a removed
 * one, and an immutable version refuses an overwrite and a delete with Artifactory's error.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEBIAN_BEANUTILS, PLUGINS, runMvn, startStaticMavenRepository, tail, writeSettings, type StaticMavenRepository } from '../helpers/maven.js'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, expectRestError, grant } from './generic-support.js'
import { dryThenRun as dryAndRealRun } from './cleanup-support.js'

const hasMvn = (await requireClients('the Maven cleanup policy tests', ['mvn'])) && (await requireClients('mvn dependency:get', [DEBIAN_BEANUTILS]))
const backends = await metadataBackends()
const POLICIES = '/artifactory/api/cleanup/packages/policies'
const xml = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'version' })
const hex = (algorithm: string, content: string) => createHash(algorithm).update(content).digest('hex')
const pom = (version: string) =>
  `<project><modelVersion>4.0.0</modelVersion><groupId>com.acme</groupId><artifactId>lib</artifactId><version>${version}</version><packaging>jar</packaging></project>\n`


for (const backend of backends) {
  if (hasMvn) {
    describe(`cleanup policies on Maven (${backend})`, () => {
      let server: TestServer
      let admin: Client
      let plugins: StaticMavenRepository
      let work: string
      const developer = { id: 'trove', username: 'dev', password: 'dev-password-1' }

      /** A file and its checksums, as mvn deploys them. */
      const deployFile = async (path: string, content: string, expected = 201) => {
        const put = await admin.put(`/artifactory/mvn-local/${path}`, { body: content })
        expect(put.status, put.text).toBe(expected)
        if (expected !== 201) return put
        for (const algorithm of ['sha1', 'md5']) expect((await admin.put(`/artifactory/mvn-local/${path}.${algorithm}`, { body: hex(algorithm, content) })).status).toBe(201)
        return put
      }
      const deployVersion = async (version: string, fileVersion = version) => {
        await deployFile(`com/acme/lib/${version}/lib-${fileVersion}.jar`, `jar ${fileVersion}\n`)
        await deployFile(`com/acme/lib/${version}/lib-${fileVersion}.pom`, pom(version))
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      const dryThenRun = async (policy: string) => (await dryAndRealRun(admin, policy)).versions
      const dependencyGet = async (version: string, name: string) => {
        const settings = join(work, `${name}.settings.xml`)
        await writeSettings(settings, { localRepository: join(work, `${name}-m2`), mirrorUrl: `${server.url}/artifactory/mvn-virtual`, servers: [developer] })
        return runMvn([`org.apache.maven.plugins:maven-dependency-plugin:${PLUGINS.dependency}:get`, `-Dartifact=com.acme:lib:${version}`, '-Dtransitive=false'], {
          cwd: work,
          settings,
          timeoutMs: 240_000,
        })
      }

      beforeAll(async () => {
        work = await mkdtemp(join(tmpdir(), 'trove-mvn-cleanup-'))
        server = await startTestServer({ backend, settings: { remote: { allowedUpstreamHosts: ['127.0.0.1'] } } })
        admin = new Client(server.url, server.adminAuth)
        plugins = await startStaticMavenRepository()
        for (const [key, config] of [
          ['mvn-local', { rclass: 'local' }],
          ['plugins-remote', { rclass: 'remote', url: plugins.url }],
          ['mvn-virtual', { rclass: 'virtual', repositories: ['mvn-local', 'plugins-remote'] }],
        ] as const) {
          const created = await admin.put(`/artifactory/api/repositories/${key}`, { body: { key, packageType: 'maven', ...config } })
          expect(created.status, created.text).toBe(200)
        }
        await createUser(admin, developer.username, developer.password)
        for (const key of ['mvn-local', 'plugins-remote', 'mvn-virtual']) await grant(admin, key, developer.username, ['read'])
      })
      afterAll(async () => {
        await plugins?.close()
        await server?.close()
        if (work) await rm(work, { recursive: true, force: true })
      })

      it('keeps the newest two versions: the rest leave maven-metadata.xml and no longer resolve; an immutable version refuses overwrites and deletes', { timeout: 900_000 }, async () => {
        await deployVersion('1.0-SNAPSHOT', '1.0-20261201.101010-1')
        await deployVersion('1.0-SNAPSHOT', '1.0-20261201.111111-2')
        await deployVersion('1.0')
        await deployVersion('1.1')
        await deployVersion('2.0')
        const before = xml.parse((await admin.get('/artifactory/mvn-local/com/acme/lib/maven-metadata.xml')).text).metadata
        expect(before.versioning.versions.version).toEqual(['1.0-SNAPSHOT', '1.0', '1.1', '2.0'])

        const created = await admin.post(POLICIES, { body: { key: 'mvn-keep-2', searchCriteria: { repos: ['mvn-local'], keepLastNVersions: 2 } } })
        expect(created.status, created.text).toBe(201)
        expect(await dryThenRun('mvn-keep-2')).toEqual(['com.acme:lib@1.0', 'com.acme:lib@1.0-SNAPSHOT'])

        const after = xml.parse((await admin.get('/artifactory/mvn-local/com/acme/lib/maven-metadata.xml')).text).metadata
        expect(after.versioning).toMatchObject({ latest: '2.0', release: '2.0', versions: { version: ['1.1', '2.0'] } })
        expect((await admin.get('/artifactory/mvn-local/com/acme/lib/1.0-SNAPSHOT/maven-metadata.xml')).status).toBe(404)
        expect((await admin.get('/artifactory/mvn-local/com/acme/lib/1.0/lib-1.0.jar')).status).toBe(404)
        const kept = await dependencyGet('1.1', 'kept')
        expect(kept.code, tail(kept.output)).toBe(0)
        const removed = await dependencyGet('1.0', 'removed')
        expect(removed.code).not.toBe(0)
        expect(removed.output).toMatch(/com\.acme:lib:jar:1\.0|Could not (find|resolve)/)

        // Immutable: an overwrite (a SNAPSHOT file deployed again) and a delete are refused (403, Artifactory's error body).
        await deployVersion('3.0-SNAPSHOT')
        const rule = await admin.post('/artifactory/api/immutability/rules', { body: { key: 'mvn-frozen', repositories: ['mvn-local'], packages: 'com.acme:*', versions: '{2.*,3.*}' } })
        expect(rule.status, rule.text).toBe(201)
        expectRestError(await deployFile('com/acme/lib/3.0-SNAPSHOT/lib-3.0-SNAPSHOT.jar', 'jar overwritten\n', 403), 403, /immutable/)
        expectRestError(await admin.delete('/artifactory/mvn-local/com/acme/lib/2.0'), 403, /immutable/)
        expect((await admin.get('/artifactory/mvn-local/com/acme/lib/3.0-SNAPSHOT/lib-3.0-SNAPSHOT.jar')).text).toBe('jar 3.0-SNAPSHOT\n')
        expect((await admin.get('/artifactory/mvn-local/com/acme/lib/2.0/lib-2.0.jar')).status).toBe(200)
        // A version no rule protects is still deleted, and leaves the metadata.
        expect((await admin.delete('/artifactory/mvn-local/com/acme/lib/1.1')).status).toBe(204)
        const last = xml.parse((await admin.get('/artifactory/mvn-local/com/acme/lib/maven-metadata.xml')).text).metadata
        expect(last.versioning.versions.version).toEqual(['2.0', '3.0-SNAPSHOT'])
      })
    })
  }
}
