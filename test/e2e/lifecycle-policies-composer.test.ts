/**
 * Cleanup policies and immutability rules on a Composer repository (docs/lifecycle.md) with the
 * real composer: a policy keeping the newest version removes the others, the p2 document and
 * `composer show --all` no longer list them and `composer require` no longer finds them, the kept
 * one installs, and an immutable version refuses a delete (a release Composer never overwrites).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { ComposerMachine, composerPackage, projectFiles } from '../helpers/composer.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { dryThenRun as dryAndRealRun } from './cleanup-support.js'
import { Client, expectRestError } from './generic-support.js'

const hasComposer = await requireClients('the Composer cleanup policy tests', ['composer'])
const backends = await metadataBackends()
const POLICIES = '/artifactory/api/cleanup/packages/policies'


for (const backend of backends) {
  if (hasComposer) {
    describe(`cleanup policies on Composer (${backend})`, () => {
      let server: TestServer
      let admin: Client
      let machine: ComposerMachine
      const api = () => `${server.url}/artifactory/api/composer/php-local`
      const dryThenRun = async (policy: string) => (await dryAndRealRun(admin, policy)).items

      beforeAll(async () => {
        server = await startTestServer({ backend })
        admin = new Client(server.url, server.adminAuth)
        machine = await ComposerMachine.create()
        const created = await admin.put('/artifactory/api/repositories/php-local', { body: { key: 'php-local', rclass: 'local', packageType: 'composer' } })
        expect(created.status, created.text).toBe(200)
      })
      afterAll(async () => {
        await machine?.close()
        await server?.close()
      })

      it('keeps the newest version: the others leave the p2 document and no longer install; an immutable version refuses a delete', { timeout: 300_000 }, async () => {
        for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
          const put = await admin.put(`/artifactory/api/composer/php-local/acme/tidy-${version}.zip`, { body: composerPackage({ name: 'acme/tidy', version, greeting: `tidy ${version}` }) })
          expect(put.status, put.text).toBe(201)
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        const policy = await admin.post(POLICIES, { body: { key: 'php-keep-1', searchCriteria: { repos: ['php-local'], keepLastNVersions: 1 } } })
        expect(policy.status, policy.text).toBe(201)
        expect(await dryThenRun('php-keep-1')).toEqual(['acme/tidy@1.0.0:acme/tidy/1.0.0/tidy-1.0.0.zip', 'acme/tidy@1.1.0:acme/tidy/1.1.0/tidy-1.1.0.zip'])

        const p2 = (await admin.get('/artifactory/api/composer/php-local/p2/acme/tidy.json')).json() as { packages: Record<string, { version: string }[]> }
        expect(p2.packages['acme/tidy']!.map((v) => v.version)).toEqual(['2.0.0'])
        const dir = await machine.project('app', projectFiles(api(), 'admin', ADMIN_PASSWORD))
        const shown = await machine.composer(['show', '--all', 'acme/tidy'], dir)
        expect(shown.code, shown.output).toBe(0)
        expect(shown.output).toMatch(/^versions\s*:\s*(\* )?2\.0\.0\s*$/m)
        const removed = await machine.composer(['require', 'acme/tidy:1.0.0'], dir)
        expect(removed.code).not.toBe(0)
        expect(removed.output).toMatch(/acme\/tidy/)
        const kept = await machine.composer(['require', 'acme/tidy:^2.0'], dir)
        expect(kept.code, kept.output).toBe(0)
        expect((await machine.php(dir, 'acme/tidy')).output).toBe('tidy 2.0.0')

        // Immutable: the version cannot be deleted (403, Artifactory's error body); it stays in the p2 document.
        const rule = await admin.post('/artifactory/api/immutability/rules', { body: { key: 'php-release', repositories: ['php-local'], packages: 'acme/*', versions: '2.*' } })
        expect(rule.status, rule.text).toBe(201)
        expectRestError(await admin.delete('/artifactory/php-local/acme/tidy/2.0.0'), 403, /immutable/)
        const after = (await admin.get('/artifactory/api/composer/php-local/p2/acme/tidy.json')).json() as { packages: Record<string, { version: string }[]> }
        expect(after.packages['acme/tidy']!.map((v) => v.version)).toEqual(['2.0.0'])
      })
    })
  }
}
