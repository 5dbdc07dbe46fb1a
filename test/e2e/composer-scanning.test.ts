/**
 * Scanning of Composer archives end to end: a package zip with a composer.lock inside, deployed to
 * a local Composer repository, scanned by the job that follows the deploy, and matched against an
 * OSV `Packagist` advisory (hand-written here) with Composer's version order: a locked `v1.1.4`
 * is inside `introduced 0, fixed 1.1.5`, `1.1.5-RC1` too, `1.1.5` is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { composerPackage } from '../helpers/composer.js'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client } from './generic-support.js'

const backends = await metadataBackends()

const ADVISORY = {
  id: 'TROVE-TEST-PACKAGIST-1',
  modified: '2026-01-01T00:00:00Z',
  summary: 'a test advisory for a Packagist package',
  affected: [{ package: { ecosystem: 'Packagist', name: 'psr/log' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.1.5' }] }] }],
}

describe.each(backends)('Composer scanning (%s)', (backend) => {
  let server: TestServer
  let admin: Client

  beforeAll(async () => {
    server = await startTestServer({ backend })
    admin = new Client(server.url, server.adminAuth)
    expect((await admin.put('/artifactory/api/repositories/php-local', { body: { key: 'php-local', rclass: 'local', packageType: 'composer' } })).status).toBe(200)
    expect((await admin.post('/api/v1/vulndb/import', { body: ADVISORY })).status).toBe(200)
  })
  afterAll(async () => {
    await server?.close()
  })

  const deployWithLock = async (name: string, lockedVersion: string) => {
    const lock = JSON.stringify({ packages: [{ name: 'psr/log', version: lockedVersion }] })
    const zip = composerPackage({ name, version: '1.0.0', require: { 'psr/log': '^1.1' }, extra: [{ name: 'composer.lock', data: lock }] })
    const deployed = await admin.put(`/artifactory/api/composer/php-local/${name}.zip`, { body: zip })
    expect(deployed.status, deployed.text).toBe(201)
    return `${name}/1.0.0/${name.split('/')[1]}-1.0.0.zip`
  }
  const report = async (path: string) => {
    const response = await admin.get(`/api/v1/scan/artifact/php-local/${path}`)
    expect(response.status, response.text).toBe(200)
    return response.json() as { status: string; components: { name: string; version: string; relation: string }[]; vulnerabilities: { ids: string[]; components: { name: string; version: string }[] }[] }
  }

  it('reports the locked packages of a deployed archive and matches them in Composer version order', async () => {
    const affected = await deployWithLock('acme/old-app', 'v1.1.4')
    const candidate = await deployWithLock('acme/rc-app', '1.1.5-RC1')
    const fixed = await deployWithLock('acme/new-app', '1.1.5')
    await server.trove.services.jobs.runDue()
    const old = await report(affected)
    expect(old.status).toBe('done')
    expect(old.components).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'acme/old-app', version: '1.0.0', relation: 'self' }),
        expect.objectContaining({ name: 'psr/log', version: 'v1.1.4', relation: 'locked' }),
      ]),
    )
    expect(old.vulnerabilities.flatMap((v) => v.ids)).toEqual(['TROVE-TEST-PACKAGIST-1'])
    expect((await report(candidate)).vulnerabilities.flatMap((v) => v.ids)).toEqual(['TROVE-TEST-PACKAGIST-1'])
    const clean = await report(fixed)
    expect(clean.status).toBe('done')
    expect(clean.vulnerabilities).toEqual([])
  })
})
