/**
 * Cleanup policies and immutability rules on a Helm repository (docs/lifecycle.md): charts built
 * by test/helpers/helm.ts (no helm binary here) deployed as Helm users do (curl -T), a policy
 * keeping the newest version of each chart removes the others (their provenance files too),
 * index.yaml no longer lists them and their URLs are gone, the kept ones download by the index
 * as Helm pulls them, and an immutable chart version refuses an overwrite and a delete.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { buildChart, chartFile } from '../helpers/helm.js'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, curl, expectRestError, sha256Of } from './generic-support.js'
import { dryThenRun as dryAndRealRun } from './cleanup-support.js'

const hasCurl = await requireClients('the Helm cleanup policy tests (curl)', ['curl'])
const backends = await metadataBackends()
const POLICIES = '/artifactory/api/cleanup/packages/policies'

type Index = { entries: Record<string, { version: string; digest: string; urls: string[] }[]> }

for (const backend of backends) {
  if (hasCurl) {
    describe(`cleanup policies on Helm (${backend})`, () => {
      let server: TestServer
      let admin: Client
      let work: string
      const helmUrl = () => `${server.url}/artifactory/api/helm/helm-local/`
      const readIndex = async (): Promise<Index> => {
        const response = await admin.get('/artifactory/api/helm/helm-local/index.yaml')
        expect(response.status, response.text).toBe(200)
        return parseYaml(response.text) as Index
      }
      const push = async (file: string, bytes: Buffer) => {
        await writeFile(join(work, file), bytes)
        return curl(['-u', `admin:${ADMIN_PASSWORD}`, '-T', join(work, file), `${helmUrl()}${file}`], join(work, 'deploy.json'))
      }
      const dryThenRun = async (policy: string) => (await dryAndRealRun(admin, policy)).items

      beforeAll(async () => {
        work = await mkdtemp(join(tmpdir(), 'trove-helm-cleanup-'))
        server = await startTestServer({ backend })
        admin = new Client(server.url, server.adminAuth)
        const created = await admin.put('/artifactory/api/repositories/helm-local', { body: { key: 'helm-local', rclass: 'local', packageType: 'helm' } })
        expect(created.status, created.text).toBe(200)
      })
      afterAll(async () => {
        await server?.close()
        if (work) await rm(work, { recursive: true, force: true })
      })

      it('keeps the newest version of each chart: the rest leave index.yaml, the kept ones pull; an immutable version refuses an overwrite and a delete', { timeout: 300_000 }, async () => {
        const charts: Record<string, Buffer> = {}
        for (const [name, version] of [['web-app', '1.0.0'], ['web-app', '1.1.0-rc.1'], ['db', '0.1.0'], ['web-app', '1.2.0']] as const) {
          charts[chartFile(name, version)] = await buildChart({ name, version })
          const pushed = await push(chartFile(name, version), charts[chartFile(name, version)]!)
          expect(pushed.status, pushed.body.toString()).toBe(201)
          if (version === '1.0.0') {
            // Its provenance file belongs to the version (a version is as new as its newest file).
            const prov = await admin.put(`/artifactory/helm-local/${chartFile(name, version)}.prov`, { body: 'signature\n' })
            expect(prov.status, prov.text).toBe(201)
          }
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        expect((await readIndex()).entries['web-app']!.map((e) => e.version)).toEqual(['1.2.0', '1.1.0-rc.1', '1.0.0'])

        const policy = await admin.post(POLICIES, { body: { key: 'helm-keep-1', searchCriteria: { repos: ['helm-local'], keepLastNVersions: 1 } } })
        expect(policy.status, policy.text).toBe(201)
        expect(await dryThenRun('helm-keep-1')).toEqual([
          'web-app@1.0.0:web-app-1.0.0.tgz,web-app-1.0.0.tgz.prov',
          'web-app@1.1.0-rc.1:web-app-1.1.0-rc.1.tgz',
        ])

        const index = await readIndex()
        expect(Object.fromEntries(Object.entries(index.entries).map(([name, entries]) => [name, entries.map((e) => e.version)]))).toEqual({ 'web-app': ['1.2.0'], db: ['0.1.0'] })
        for (const entries of Object.values(index.entries)) {
          for (const entry of entries) {
            const pulled = await fetch(new URL(entry.urls[0]!, helmUrl()), { headers: { authorization: server.adminAuth } })
            expect(pulled.status).toBe(200)
            expect(sha256Of(Buffer.from(await pulled.arrayBuffer()))).toBe(entry.digest)
          }
        }
        for (const gone of [chartFile('web-app', '1.0.0'), `${chartFile('web-app', '1.0.0')}.prov`, chartFile('web-app', '1.1.0-rc.1')]) {
          expect((await admin.get(`/artifactory/api/helm/helm-local/${gone}`)).status).toBe(404)
        }

        // Immutable: pushing the version again (other bytes) and deleting it are refused; the index keeps the original.
        const rule = await admin.post('/artifactory/api/immutability/rules', { body: { key: 'helm-release', repositories: ['helm-local'], packages: 'web-*', versions: '1.*' } })
        expect(rule.status, rule.text).toBe(201)
        const other = await buildChart({ name: 'web-app', version: '1.2.0', description: 'another build' })
        const over = await admin.put(`/artifactory/api/helm/helm-local/${chartFile('web-app', '1.2.0')}`, { body: other })
        expectRestError(over, 403, /immutable/)
        expectRestError(await admin.delete(`/artifactory/helm-local/${chartFile('web-app', '1.2.0')}`), 403, /immutable/)
        expect((await readIndex()).entries['web-app']).toEqual([expect.objectContaining({ version: '1.2.0', digest: sha256Of(charts[chartFile('web-app', '1.2.0')]!) })])
        // A chart no rule protects is deleted and leaves the index.
        expect((await admin.delete(`/artifactory/helm-local/${chartFile('db', '0.1.0')}`)).status).toBe(204)
        expect(Object.keys((await readIndex()).entries)).toEqual(['web-app'])
      })
    })
  }
}
