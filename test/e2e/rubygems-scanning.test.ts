/**
 * Scanning of pushed gems over real HTTP: a gem and the gems locked in a Gemfile.lock inside it
 * are matched against an OSV record of the `RubyGems` ecosystem with Gem::Version's order (1.9.0
 * and 1.10.0.rc1 are before 1.10.0, which a string order gets wrong). The record is a test record
 * written here, not a published advisory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gemOf } from '../helpers/gem-archives.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const backends = await metadataBackends()

const RECORD = {
  schema_version: '1.4.0',
  id: 'TROVE-TEST-RUBYGEMS-1',
  modified: '2026-12-01T00:00:00Z',
  summary: 'a test record for the RubyGems ordering',
  affected: [{ package: { ecosystem: 'RubyGems', name: 'demo_vuln' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.10.0' }] }] }],
}

type Report = { status: string; components: { name: string; version: string; relation: string }[]; vulnerabilities: { ids: string[]; components: { name: string; version: string }[] }[] }

describe.each(backends)('scanning pushed gems (%s)', (backend) => {
  let server: TestServer
  const api = (method: string, path: string, body?: Buffer | string, contentType = 'application/json') =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: server.adminAuth, 'content-type': contentType }, body })
  const push = async (gem: Buffer) => {
    const response = await api('POST', '/artifactory/api/gems/gemlocal/api/v1/gems', gem, 'application/octet-stream')
    expect(response.status, await response.text()).toBe(200)
  }
  const report = async (path: string) => (await (await api('GET', `/api/v1/scan/artifact/gemlocal/${path}`)).json()) as Report

  beforeAll(async () => {
    server = await startTestServer({ backend })
    expect((await api('PUT', '/artifactory/api/repositories/gemlocal', JSON.stringify({ rclass: 'local', packageType: 'gems' }))).status).toBe(200)
    expect((await api('POST', '/api/v1/vulndb/import', JSON.stringify([RECORD]))).status).toBe(200)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('matches gems and locked gems by Gem::Version order', async () => {
    const lock = 'GEM\n  specs:\n    demo_vuln (1.10.0.rc1)\n    other (1.0.0)\n'
    await push(await gemOf('demo_vuln', '1.9.0', [{ name: 'lib/a.rb', body: Buffer.from('') }]))
    await push(await gemOf('demo_vuln', '1.10.0', [{ name: 'lib/a.rb', body: Buffer.from('') }]))
    await push(await gemOf('app_with_lock', '0.1.0', [{ name: 'Gemfile.lock', body: Buffer.from(lock) }]))
    await server.trove.services.jobs.runDue()

    const old = await report('gems/demo_vuln-1.9.0.gem')
    expect(old.status).toBe('done')
    expect(old.vulnerabilities.flatMap((v) => v.ids)).toEqual(['TROVE-TEST-RUBYGEMS-1'])
    const fixed = await report('gems/demo_vuln-1.10.0.gem')
    expect(fixed.status).toBe('done')
    expect(fixed.vulnerabilities).toEqual([])
    const app = await report('gems/app_with_lock-0.1.0.gem')
    expect(app.components).toContainEqual(expect.objectContaining({ name: 'demo_vuln', version: '1.10.0.rc1', relation: 'locked' }))
    expect(app.vulnerabilities[0]?.components).toEqual([expect.objectContaining({ name: 'demo_vuln', version: '1.10.0.rc1' })])
  })
})
