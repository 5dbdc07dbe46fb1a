/**
 * Cleanup policies and immutability rules on a Go repository (docs/lifecycle.md) with the real go
 * command (through an HTTPS front, as go sends credentials to https only): a policy keeping the
 * newest version of a module removes the others, `go list -m -versions` no longer lists them and
 * `go mod download` no longer finds them, the kept one downloads, and an immutable version refuses
 * a delete with Artifactory's error (Go refuses other content for a published version by itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireClients } from '../helpers/clients.js'
import { GoMachine, libraryFiles, moduleZip, publishVersion } from '../helpers/go.js'
import { metadataBackends } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js'
import { startTlsFront, type TlsFront } from '../helpers/tls-front.js'
import { dryThenRun as dryAndRealRun } from './cleanup-support.js'
import { Client, expectRestError } from './generic-support.js'

const hasGo = await requireClients('the Go cleanup policy tests', ['go'])
const backends = await metadataBackends()
const POLICIES = '/artifactory/api/cleanup/packages/policies'
const MODULE = 'example.com/tidy'


for (const backend of backends) {
  if (hasGo) {
    describe(`cleanup policies on Go (${backend})`, () => {
      let server: TestServer
      let front: TlsFront
      let admin: Client
      let machine: GoMachine
      const goEnv = () => ({ GOPROXY: `${front.url}/artifactory/api/go/go-local`, GONOSUMDB: 'example.com/*', SSL_CERT_FILE: front.certFile })
      const dryThenRun = async (policy: string) => (await dryAndRealRun(admin, policy)).versions

      beforeAll(async () => {
        server = await startTestServer({ backend })
        front = await startTlsFront(server.url)
        admin = new Client(server.url, server.adminAuth)
        const created = await admin.put('/artifactory/api/repositories/go-local', { body: { key: 'go-local', rclass: 'local', packageType: 'go' } })
        expect(created.status, created.text).toBe(200)
        machine = await GoMachine.create('cleanup')
        await machine.netrc('127.0.0.1', 'admin', ADMIN_PASSWORD)
      })
      afterAll(async () => {
        await machine?.close()
        await front?.close()
        await server?.close()
      })

      it('keeps the newest version: the others leave go list -m -versions and no longer download; an immutable version refuses a delete', { timeout: 300_000 }, async () => {
        for (const version of ['v1.0.0', 'v1.1.0', 'v1.2.0']) {
          await publishVersion(admin, 'go-local', MODULE, version, libraryFiles(MODULE, `hello ${version}`))
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        const app = await machine.folder('app', { 'go.mod': 'module example.com/app\n\ngo 1.19\n' })
        const listed = async () => {
          const list = await machine.go(['list', '-m', '-versions', MODULE], app, goEnv())
          expect(list.code, list.output).toBe(0)
          return list.output.trim()
        }
        expect(await listed()).toBe(`${MODULE} v1.0.0 v1.1.0 v1.2.0`)

        const policy = await admin.post(POLICIES, { body: { key: 'go-keep-1', searchCriteria: { repos: ['go-local'], keepLastNVersions: 1 } } })
        expect(policy.status, policy.text).toBe(201)
        expect(await dryThenRun('go-keep-1')).toEqual([`${MODULE}@v1.0.0`, `${MODULE}@v1.1.0`])

        expect(await listed()).toBe(`${MODULE} v1.2.0`)
        const kept = await machine.go(['mod', 'download', '-json', `${MODULE}@v1.2.0`], app, goEnv())
        expect(kept.code, kept.output).toBe(0)
        const removed = await machine.go(['mod', 'download', `${MODULE}@v1.0.0`], app, goEnv())
        expect(removed.code).not.toBe(0)
        expect(removed.output).toMatch(/404|not found/i)

        // Go's module versions are immutable by themselves: other content for a published version is
        // refused (409, the GOPROXY's plain-text error) with a rule or without; the rule adds that a
        // delete through the REST API is refused (403, Artifactory's error body).
        const rule = await admin.post('/artifactory/api/immutability/rules', { body: { key: 'go-release', repositories: ['go-local'], packages: 'example.com/**', versions: 'v1.*' } })
        expect(rule.status, rule.text).toBe(201)
        const zip = await moduleZip(MODULE, 'v1.2.0', libraryFiles(MODULE, 'another build of v1.2.0'))
        const rebuilt = await admin.put(`/artifactory/api/go/go-local/${MODULE}/@v/v1.2.0.zip`, { body: zip })
        expect(rebuilt.status, rebuilt.text).toBe(409)
        const info = JSON.stringify({ Version: 'v1.2.0', Time: '2026-12-08T10:00:00Z' })
        const replaced = await admin.put(`/artifactory/api/go/go-local/${MODULE}/@v/v1.2.0.info`, { body: info })
        expect(replaced.status, replaced.text).toBe(409)
        expect(replaced.headers['content-type']).toMatch(/^text\/plain/)
        expect(replaced.text).toMatch(/immutable/)
        expect((await admin.get(`/artifactory/api/go/go-local/${MODULE}/@v/v1.2.0.info`)).json()).toEqual({ Version: 'v1.2.0', Time: '2026-12-07T10:00:00Z' })
        expectRestError(await admin.delete(`/artifactory/go-local/${MODULE}/@v/v1.2.0.zip`), 403, /immutable/)
        expect(await listed()).toBe(`${MODULE} v1.2.0`)
      })
    })
  }
}
