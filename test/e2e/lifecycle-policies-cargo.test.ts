/**
 * Cleanup policies and immutability rules on a Cargo repository (docs/lifecycle.md) with the real
 * cargo: a policy keeping the newest version removes the others, the sparse index file no longer
 * has their lines and cargo no longer resolves them, the kept one fetches, and an immutable
 * version refuses a delete (cargo refuses a second publish of a version by itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CargoSandbox, cargoIndexUrl } from '../helpers/cargo.js'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { dryThenRun as dryAndRealRun } from './cleanup-support.js'
import { Client, expectRestError } from './generic-support.js'

const hasCargo = await requireClients('the Cargo cleanup policy tests', ['cargo'])
const backends = await metadataBackends()
const POLICIES = '/artifactory/api/cleanup/packages/policies'


for (const backend of backends) {
  if (hasCargo) {
    describe(`cleanup policies on Cargo (${backend})`, () => {
      let server: TestServer
      let admin: Client
      let token: string
      let cargo: CargoSandbox
      const dryThenRun = async (policy: string) => (await dryAndRealRun(admin, policy)).items
      const indexVersions = async () => {
        const file = await admin.as(token).get('/artifactory/api/cargo/crates-local/index/ti/dy/tidy-crate')
        expect(file.status, file.text).toBe(200)
        return file.text.trim().split('\n').map((line) => (JSON.parse(line) as { vers: string }).vers)
      }

      beforeAll(async () => {
        server = await startTestServer({ backend })
        admin = new Client(server.url, server.adminAuth)
        const created = await admin.put('/artifactory/api/repositories/crates-local', { body: { key: 'crates-local', rclass: 'local', packageType: 'cargo' } })
        expect(created.status, created.text).toBe(200)
        const issued = await admin.post('/access/api/v1/tokens', { body: {} })
        expect(issued.status, issued.text).toBe(200)
        token = (issued.json() as { access_token: string }).access_token
        const registry = { name: 'trove', indexUrl: cargoIndexUrl(server.url, 'crates-local'), token }
        cargo = await CargoSandbox.create([registry], registry)
      })
      afterAll(async () => {
        await cargo?.close()
        await server?.close()
      })

      it('keeps the newest version: the others leave the index file and no longer resolve; an immutable version refuses a delete', { timeout: 600_000 }, async () => {
        for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
          const published = await cargo.run(['publish', '--registry', 'trove', '--no-verify', '--allow-dirty'], await cargo.writeCrate('tidy-crate', version))
          expect(published.code, published.stderr).toBe(0)
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        expect(await indexVersions()).toEqual(['1.0.0', '1.1.0', '2.0.0'])

        const policy = await admin.post(POLICIES, { body: { key: 'crates-keep-1', searchCriteria: { repos: ['crates-local'], keepLastNVersions: 1 } } })
        expect(policy.status, policy.text).toBe(201)
        expect(await dryThenRun('crates-keep-1')).toEqual(['tidy-crate@1.0.0:tidy-crate/tidy-crate-1.0.0.crate', 'tidy-crate@1.1.0:tidy-crate/tidy-crate-1.1.0.crate'])

        expect(await indexVersions()).toEqual(['2.0.0'])
        const old = await cargo.writeApp('app-old', [{ name: 'tidy-crate', version: '=1.0.0', registry: 'trove' }], 'fn main() { println!("{}", tidy_crate::tidy_crate()); }\n')
        const refused = await cargo.run(['fetch'], old)
        expect(refused.code).not.toBe(0)
        expect(refused.stderr).toMatch(/failed to select a version|no matching package/)
        const current = await cargo.writeApp('app-new', [{ name: 'tidy-crate', version: '2', registry: 'trove' }], 'fn main() { println!("{}", tidy_crate::tidy_crate()); }\n')
        const fetched = await cargo.run(['fetch'], current)
        expect(fetched.code, fetched.stderr).toBe(0)

        // Immutable: the version cannot be deleted (403, Artifactory's error body); it stays in the index.
        const rule = await admin.post('/artifactory/api/immutability/rules', { body: { key: 'crates-release', repositories: ['crates-local'], packages: 'tidy-*', versions: '2.*' } })
        expect(rule.status, rule.text).toBe(201)
        expectRestError(await admin.delete('/artifactory/crates-local/tidy-crate/tidy-crate-2.0.0.crate'), 403, /immutable/)
        expect(await indexVersions()).toEqual(['2.0.0'])
      })
    })
  }
}
