/**
 * Scanning of Go modules end to end: the OSV fixtures (which hold Go advisories) imported through
 * the REST API, a module version published to a Go local repository, its zip scanned as a job,
 * and the report naming the module and its go.mod requires with the Go advisories that match
 * them (the Go format's version order, OSV writing versions without the v).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { libraryFiles, publishVersion } from '../helpers/go.js'
import { fixtureRecords } from '../helpers/scanning.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client } from './generic-support.js'

describe('Go module scanning', () => {
  let server: TestServer
  let admin: Client

  beforeAll(async () => {
    server = await startTestServer()
    admin = new Client(server.url, server.adminAuth)
    expect((await admin.put('/artifactory/api/repositories/go-local', { body: { key: 'go-local', rclass: 'local', packageType: 'go' } })).status).toBe(200)
    const imported = await admin.post('/api/v1/vulndb/import', { body: await fixtureRecords() })
    expect(imported.status, imported.text).toBe(200)
  })

  afterAll(async () => {
    await server?.close()
  })

  it('scans a published module zip: the module, its requires, and the Go advisories of jwt-go', async () => {
    const files = libraryFiles('example.com/auth', 'auth', ['github.com/dgrijalva/jwt-go v3.2.0+incompatible'])
    await publishVersion(admin, 'go-local', 'example.com/auth', 'v1.0.0', files)
    await server.trove.services.jobs.runDue()
    const response = await admin.get('/api/v1/scan/artifact/go-local/example.com/auth/@v/v1.0.0.zip')
    expect(response.status, response.text).toBe(200)
    const report = response.json() as { status: string; components: { name: string; version: string; relation: string; purl?: string }[]; vulnerabilities: { ids: string[] }[] }
    expect(report.status).toBe('done')
    expect(report.components).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'example.com/auth', version: 'v1.0.0', relation: 'self' }),
        expect.objectContaining({ name: 'github.com/dgrijalva/jwt-go', version: 'v3.2.0+incompatible', relation: 'dependency' }),
      ]),
    )
    expect(report.vulnerabilities.flatMap((v) => v.ids)).toEqual(expect.arrayContaining(['GO-2020-0017']))
    // The .mod and .info are read from the zip's own go.mod: not scanned on their own.
    expect((await admin.get('/api/v1/scan/artifact/go-local/example.com/auth/@v/v1.0.0.mod')).json()).toMatchObject({ status: 'unsupported' })
  })
})
