/**
 * Scanning of crates end to end: the RustSec record of `regex` (crates.io ecosystem) imported
 * through the REST API; crates published to a local Cargo repository are scanned as jobs: a
 * vulnerable `regex` (its own component, by the crates.io version order), a fixed one, and a
 * binary crate whose Cargo.lock pins the vulnerable version.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { crateOf, publishBody, publishJson } from '../helpers/crates.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const backends = await metadataBackends()
const RECORD = join(import.meta.dirname, '../fixtures/osv-crates/RUSTSEC-2022-0013.json')

interface Report {
  readonly status: string
  readonly components: { name: string; version: string; relation: string }[]
  readonly vulnerabilities: { ids: string[]; aliases: string[]; components: { name: string; version: string; fixedVersions: string[] }[] }[]
}

describe.each(backends)('scanning crates (%s)', (backend) => {
  let server: TestServer

  const api = (method: string, path: string, body?: Buffer | string) =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: server.adminAuth, 'content-type': 'application/json' }, body })
  const publish = async (name: string, version: string, extra: Parameters<typeof crateOf>[2] = {}) => {
    const response = await api('PUT', '/artifactory/api/cargo/crates/api/v1/crates/new', publishBody(publishJson(name, version), crateOf(name, version, extra)))
    expect(response.status, await response.clone().text()).toBe(200)
  }
  const report = async (path: string): Promise<Report> => {
    const response = await api('GET', `/api/v1/scan/artifact/crates/${path}`)
    expect(response.status).toBe(200)
    return (await response.json()) as Report
  }

  beforeAll(async () => {
    server = await startTestServer({ backend })
    expect((await api('PUT', '/artifactory/api/repositories/crates', JSON.stringify({ rclass: 'local', packageType: 'cargo' }))).status).toBe(200)
    const imported = await api('POST', '/api/v1/vulndb/import', await readFile(RECORD, 'utf8'))
    expect(await imported.json()).toMatchObject({ imported: 1, invalid: 0 })
  })

  afterAll(async () => {
    await server?.close()
  })

  it('reports the advisory for regex 1.5.4 and none for 1.5.5', async () => {
    await publish('regex', '1.5.4')
    await publish('regex', '1.5.5')
    await server.trove.services.jobs.runDue()
    const vulnerable = await report('regex/regex-1.5.4.crate')
    expect(vulnerable.status).toBe('done')
    expect(vulnerable.components).toEqual([expect.objectContaining({ name: 'regex', version: '1.5.4', relation: 'self' })])
    expect(vulnerable.vulnerabilities.map((v) => v.ids)).toEqual([['RUSTSEC-2022-0013']])
    expect(vulnerable.vulnerabilities[0]!.aliases).toContain('CVE-2022-24713')
    expect(vulnerable.vulnerabilities[0]!.components).toEqual([expect.objectContaining({ name: 'regex', version: '1.5.4', fixedVersions: ['1.5.5'] })])
    const fixed = await report('regex/regex-1.5.5.crate')
    expect(fixed.status).toBe('done')
    expect(fixed.vulnerabilities).toEqual([])
  })

  it("reports what a crate's Cargo.lock pins", async () => {
    const lock = ['version = 3', '', '[[package]]', 'name = "grep-tool"', 'version = "0.1.0"', 'dependencies = [', ' "regex",', ']', '', '[[package]]', 'name = "regex"', 'version = "1.5.4"', 'source = "registry+https://example.test/index"', ''].join('\n')
    await publish('grep-tool', '0.1.0', { extra: [{ path: 'grep-tool-0.1.0/Cargo.lock', body: lock }] })
    await server.trove.services.jobs.runDue()
    const scanned = await report('grep-tool/grep-tool-0.1.0.crate')
    expect(scanned.status).toBe('done')
    expect(scanned.components).toContainEqual(expect.objectContaining({ name: 'regex', version: '1.5.4', relation: 'locked' }))
    expect(scanned.vulnerabilities.flatMap((v) => v.ids)).toEqual(['RUSTSEC-2022-0013'])
  })
})
