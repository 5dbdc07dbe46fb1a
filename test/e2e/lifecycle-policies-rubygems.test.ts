/**
 * Cleanup policies and immutability rules on a RubyGems repository (docs/lifecycle.md) with the
 * real gem command: a policy keeping the newest version removes the others, `gem list --remote
 * --all` no longer shows them and `gem install` no longer finds them, the kept one installs, and
 * an immutable version refuses `gem yank` (a repush RubyGems refuses by itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { metadataBackends } from '../helpers/postgres.js'
import { GemHome } from '../helpers/rubygems.js'
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createUser, grant } from './generic-support.js'
import { dryThenRun as dryAndRealRun } from './cleanup-support.js'

const hasGem = await requireClients('the RubyGems cleanup policy tests', ['gem'])
const backends = await metadataBackends()
const POLICIES = '/artifactory/api/cleanup/packages/policies'
const API = '/artifactory/api/gems'
const PASSWORD = 'dev-password-1'


for (const backend of backends) {
  if (hasGem) {
    describe(`cleanup policies on RubyGems (${backend})`, () => {
      let server: TestServer
      let admin: Client
      let home: GemHome
      const key = () => ({ GEM_HOST_API_KEY: basicAuth('dev', PASSWORD) })
      const source = () => `${server.url.replace('http://', `http://dev:${PASSWORD}@`)}${API}/gemlocal/`
      const dryThenRun = async (policy: string) => (await dryAndRealRun(admin, policy)).items

      beforeAll(async () => {
        server = await startTestServer({ backend })
        admin = new Client(server.url, server.adminAuth)
        const created = await admin.put('/artifactory/api/repositories/gemlocal', { body: { key: 'gemlocal', rclass: 'local', packageType: 'gems' } })
        expect(created.status, created.text).toBe(200)
        await createUser(admin, 'dev', PASSWORD)
        await grant(admin, 'gemlocal', 'dev', ['read', 'deploy', 'delete'])
        home = await GemHome.create()
      })
      afterAll(async () => {
        await home?.remove()
        await server?.close()
      })

      it('keeps the newest version: the others leave the indexes and no longer install; an immutable version refuses gem yank', { timeout: 300_000 }, async () => {
        const built = []
        for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
          built.push(await home.build('trove_tidy', version, `tidy ${version}`))
          const pushed = await home.gem(['push', built.at(-1)!.file, '--host', `${server.url}${API}/gemlocal`], { env: key() })
          expect(pushed.code, pushed.output).toBe(0)
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        const listed = async () => (await home.gem(['list', '--remote', '--all', '--clear-sources', '--source', source(), 'trove_tidy'])).output
        expect(await listed()).toContain('trove_tidy (2.0.0, 1.1.0, 1.0.0)')

        const policy = await admin.post(POLICIES, { body: { key: 'gems-keep-1', searchCriteria: { repos: ['gemlocal'], keepLastNVersions: 1 } } })
        expect(policy.status, policy.text).toBe(201)
        expect(await dryThenRun('gems-keep-1')).toEqual([
          'trove_tidy@1.0.0:gems/trove_tidy-1.0.0.gem,quick/Marshal.4.8/trove_tidy-1.0.0.gemspec.rz',
          'trove_tidy@1.1.0:gems/trove_tidy-1.1.0.gem,quick/Marshal.4.8/trove_tidy-1.1.0.gemspec.rz',
        ])

        expect(await listed()).toContain('trove_tidy (2.0.0)\n')
        expect((await admin.get(`${API}/gemlocal/info/trove_tidy`)).text).toMatch(/^---\n2\.0\.0 \|checksum:[0-9a-f]{64}\n$/)
        const removed = await home.gem(['install', 'trove_tidy', '-v', '1.0.0', '--clear-sources', '--source', source(), '--no-document'])
        expect(removed.code).not.toBe(0)
        expect(removed.output).toMatch(/Could not find a valid gem 'trove_tidy' \(= 1\.0\.0\)/)
        const kept = await home.gem(['install', 'trove_tidy', '-v', '2.0.0', '--clear-sources', '--source', source(), '--no-document'])
        expect(kept.code, kept.output).toBe(0)

        // Immutable: gem yank is refused (the reason, as gem prints it); a repush is refused by RubyGems' own rule.
        const rule = await admin.post('/artifactory/api/immutability/rules', { body: { key: 'gems-release', repositories: ['gemlocal'], packages: 'trove_*', versions: '2.*' } })
        expect(rule.status, rule.text).toBe(201)
        const yank = await home.gem(['yank', 'trove_tidy', '-v', '2.0.0', '--host', `${server.url}${API}/gemlocal`], { env: key() })
        expect(yank.output).toMatch(/immutable/)
        const repush = await home.gem(['push', built[2]!.file, '--host', `${server.url}${API}/gemlocal`], { env: key() })
        expect(repush.code).not.toBe(0)
        expect(repush.output).toMatch(/Repushing of gem versions is not allowed/)
        expect(await listed()).toContain('trove_tidy (2.0.0)\n')
      })
    })
  }
}
