/**
 * Usage reports on both metadata engines: per repository and per project, bytes as stored and
 * after deduplication, files, packages and the largest ones, what the trash holds, daily
 * snapshots, bytes freed by cleanups (recorded through the core's `recordFreed`, as the cleanup
 * policies record their runs); the same as Prometheus metrics; who may read which report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, createRepository, createUser, deploy, expectRestError, grant } from './generic-support.js'
import { metricValue } from './remote-support.js'

const backends = await metadataBackends()

for (const backend of backends) {
  describe(`usage reports (${backend})`, () => {
    let server: TestServer
    let admin: Client
    let member: Client
    let outsider: Client

    beforeAll(async () => {
      server = await startTestServer({ backend, settings: { trashcan: { enabled: true, retentionPeriodDays: 14 }, upkeep: { cacheEvictionIntervalSecs: 0, usageSnapshotIntervalSecs: 0 } } })
      admin = new Client(server.url, server.adminAuth)
      expect((await admin.post('/access/api/v1/projects', { body: { project_key: 'acme', display_name: 'Acme' } })).status).toBe(201)
      await createRepository(admin, 'acme-libs', { projectKey: 'acme' })
      await createRepository(admin, 'acme-apps', { projectKey: 'acme' })
      await createRepository(admin, 'elsewhere')
      await createUser(admin, 'member', 'member-password-1')
      await createUser(admin, 'outsider', 'outsider-password-1')
      expect((await admin.put('/access/api/v1/projects/acme/users/member', { body: { roles: ['Viewer'] } })).status).toBe(200)
      await grant(admin, 'elsewhere', 'outsider', ['read'])
      member = admin.asUser('member', 'member-password-1')
      outsider = admin.asUser('outsider', 'outsider-password-1')

      await deploy(admin, 'acme-libs/big/1.0/big-1.0.bin', 'x'.repeat(5000))
      await deploy(admin, 'acme-libs/big/1.1/big-1.1.bin', 'y'.repeat(4000))
      await deploy(admin, 'acme-libs/small/1.0/small-1.0.bin', 'z'.repeat(100))
      await deploy(admin, 'acme-libs/@scope/pkg/1.0/pkg.bin', 'w'.repeat(300))
      // The same bytes twice: stored once.
      await deploy(admin, 'acme-apps/app/copy.bin', 'x'.repeat(5000))
      await deploy(admin, 'acme-apps/app/trashed.bin', 't'.repeat(70))
      expect((await admin.delete('/artifactory/acme-apps/app/trashed.bin')).status).toBe(204)
      await deploy(admin, 'elsewhere/other/file.bin', 'o'.repeat(10))
    })

    afterAll(async () => {
      await server?.close()
    })

    it('reports a repository: files, bytes logical and stored, packages, the largest, the trash', async () => {
      const report = (await member.get('/api/v1/usage/repositories/acme-libs')).json()
      expect(report).toMatchObject({
        repoKey: 'acme-libs',
        projectKey: 'acme',
        files: 4,
        logicalBytes: 9400,
        storedBytes: 9400,
        trashFiles: 0,
        packages: 3,
        largestPackages: [
          { repoKey: 'acme-libs', name: 'big', files: 2, bytes: 9000 },
          { repoKey: 'acme-libs', name: '@scope/pkg', files: 1, bytes: 300 },
          { repoKey: 'acme-libs', name: 'small', files: 1, bytes: 100 },
        ],
      })
    })

    it('reports a project: its repositories together, shared content counted once, the trash included', async () => {
      const report = (await member.get('/api/v1/usage/projects/acme')).json()
      expect(report).toMatchObject({ projectKey: 'acme', repositories: ['acme-apps', 'acme-libs'], files: 5, logicalBytes: 14_400, storedBytes: 9400, trashFiles: 1, trashBytes: 70, packages: 4 })
      expect(report.largestPackages[0]).toEqual({ repoKey: 'acme-libs', name: 'big', files: 2, bytes: 9000 })
    })

    it('keeps daily snapshots: growth over time', async () => {
      expect((await member.post('/api/v1/usage/snapshot')).status).toBe(403)
      expect((await admin.post('/api/v1/usage/snapshot')).json()).toEqual({ repositories: 3 })
      // Yesterday, as the scheduled job would have taken it.
      await server.trove.services.usage.snapshot(Date.now() - 24 * 3600 * 1000)
      await deploy(admin, 'acme-libs/small/1.1/small-1.1.bin', 's'.repeat(50))
      expect((await admin.post('/api/v1/usage/snapshot')).status).toBe(200)
      const growth = (await member.get('/api/v1/usage/repositories/acme-libs')).json().growth as { day: string; files: number; logicalBytes: number }[]
      expect(growth.map((g) => [g.files, g.logicalBytes])).toEqual([
        [4, 9400],
        [5, 9450],
      ])
      expect(growth[1]!.day).toBe(new Date().toISOString().slice(0, 10))
      const project = (await member.get('/api/v1/usage/projects/acme')).json().growth
      expect(project.at(-1)).toMatchObject({ files: 6, logicalBytes: 14_450 })
    })

    it('records the bytes each cleanup freed (recordFreed, as a policy run does), newest first', async () => {
      await server.trove.services.usage.recordFreed({ repoKey: 'acme-libs', bytes: 1234, files: 2, source: 'policy:keep-3' })
      await server.trove.services.usage.recordFreed({ repoKey: 'acme-libs', bytes: 0, files: 0, source: 'policy:nothing' })
      const report = (await member.get('/api/v1/usage/repositories/acme-libs')).json()
      expect(report.freed).toEqual([expect.objectContaining({ repoKey: 'acme-libs', bytes: 1234, files: 2, source: 'policy:keep-3' })])
      expect(report.freedBytesTotal).toBe(1234)
      expect((await member.get('/api/v1/usage/projects/acme')).json().freedBytesTotal).toBe(1234)
    })

    it('exports the figures as Prometheus metrics', async () => {
      const metrics = (await admin.get('/artifactory/api/v1/metrics')).text
      expect(metricValue(metrics, 'trove_repository_logical_bytes', { repo: 'acme-apps', project: 'acme' })).toBe(5000)
      expect(metricValue(metrics, 'trove_repository_stored_bytes', { repo: 'acme-libs' })).toBe(9450)
      expect(metricValue(metrics, 'trove_repository_files', { repo: 'elsewhere', project: '' })).toBe(1)
      expect(metricValue(metrics, 'trove_repository_trash_bytes', { repo: 'acme-apps' })).toBe(70)
      expect(metricValue(metrics, 'trove_repository_freed_bytes_total', { repo: 'acme-libs' })).toBe(1234)
    })

    it('shows a report only to who may read the repository or belongs to the project', async () => {
      await expectRestError(await outsider.get('/api/v1/usage/repositories/acme-libs'), 403)
      await expectRestError(await outsider.get('/api/v1/usage/projects/acme'), 403)
      await expectRestError(await admin.anonymous.get('/api/v1/usage/projects/acme'), 401)
      expect((await outsider.get('/api/v1/usage/repositories/elsewhere')).json()).toMatchObject({ files: 1, projectKey: null })
      await expectRestError(await admin.get('/api/v1/usage/repositories/no-such-repo'), 404)
      await expectRestError(await admin.get('/api/v1/usage/projects/nosuch'), 404)
    })
  })
}
