/**
 * The trash can, over real HTTP on both metadata engines: a delete keeps the file in
 * `auto-trashcan` (listed with the storage API), garbage collection leaves its blob, whoever could
 * delete it restores it byte for byte (Maven's metadata regenerated), an admin cleans or empties
 * it, the project's quota counts it until then, and the retention period empties it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../helpers/postgres.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { Client, blobKey, createRepository, createUser, deploy, expectRestError, grant, randomPayload, sha256Of, storeSnapshot } from './generic-support.js'

const backends = await metadataBackends()
const DAY_MS = 24 * 3600 * 1000

for (const backend of backends) {
  describe(`the trash can (${backend})`, () => {
    let server: TestServer
    let admin: Client
    let dev: Client
    let reader: Client
    const content = randomPayload(40_000)
    const other = randomPayload(3000)

    const project = async () => (await admin.get('/access/api/v1/projects/team')).json() as { storage_used_bytes: number }
    const blobStored = async (sha256: string) => (await storeSnapshot(server)).blobs.includes(blobKey(sha256))
    const gc = async () => {
      const response = await admin.post('/artifactory/api/system/storage/gc')
      expect(response.status, response.text).toBe(200)
      return response.json() as { deleted: number; freedBytes: number }
    }

    beforeAll(async () => {
      server = await startTestServer({ backend, settings: { trashcan: { enabled: true, retentionPeriodDays: 7 }, gc: { graceSecs: 0, intervalSecs: 0 } } })
      admin = new Client(server.url, server.adminAuth)
      expect((await admin.post('/access/api/v1/projects', { body: { project_key: 'team', display_name: 'Team', storage_quota_bytes: 1_000_000 } })).status).toBe(201)
      await createRepository(admin, 'team-files', { projectKey: 'team' })
      await createRepository(admin, 'team-other', { projectKey: 'team' })
      await createRepository(admin, 'libs-release', { packageType: 'maven' })
      await createUser(admin, 'dev', 'dev-password-1')
      await createUser(admin, 'reader', 'reader-password-1')
      for (const key of ['team-files', 'team-other', 'libs-release']) {
        await grant(admin, key, 'dev', ['read', 'annotate', 'deploy', 'delete'])
        await grant(admin, key, 'reader', ['read'])
      }
      dev = admin.asUser('dev', 'dev-password-1')
      reader = admin.asUser('reader', 'reader-password-1')
    })

    afterAll(async () => {
      await server?.close()
    })

    it('keeps a deleted file in auto-trashcan, listed with the storage API, with who deleted it', async () => {
      await deploy(dev, 'team-files/builds/1/app.bin;build.number=1', content)
      await deploy(dev, 'team-files/builds/1/notes.txt', other)
      const before = (await project()).storage_used_bytes
      expect(before).toBe(content.length + other.length)
      expect((await dev.delete('/artifactory/team-files/builds/1/app.bin')).status).toBe(204)
      expect((await dev.get('/artifactory/team-files/builds/1/app.bin')).status).toBe(404)

      const root = (await dev.get('/artifactory/api/storage/auto-trashcan')).json()
      expect(root).toMatchObject({ repo: 'auto-trashcan', path: '/', children: [{ uri: '/team-files', folder: true }] })
      const folder = (await dev.get('/artifactory/api/storage/auto-trashcan/team-files/builds/1')).json()
      expect(folder.children).toEqual([{ uri: '/app.bin', folder: false }])
      const info = (await dev.get('/artifactory/api/storage/auto-trashcan/team-files/builds/1/app.bin')).json()
      expect(info).toMatchObject({
        repo: 'auto-trashcan',
        path: '/team-files/builds/1/app.bin',
        size: String(content.length),
        checksums: { sha256: sha256Of(content) },
        properties: { 'build.number': ['1'], 'trash.deletedBy': ['dev'], 'trash.originalRepository': ['team-files'], 'trash.originalPath': ['builds/1/app.bin'] },
      })
      const properties = (await dev.get('/artifactory/api/storage/auto-trashcan/team-files/builds/1/app.bin?properties')).json()
      expect(properties.properties).toMatchObject({ 'build.number': ['1'], 'trash.deletedBy': ['dev'] })
      expect(Object.keys(properties)).toEqual(['properties', 'uri'])
      const listed = (await dev.get('/artifactory/api/storage/auto-trashcan/team-files?list&deep=1')).json()
      expect(listed.files).toEqual([expect.objectContaining({ uri: '/builds/1/app.bin', size: content.length, sha2: sha256Of(content) })])
      // The quota still counts it: it is in the trash, not gone.
      expect((await project()).storage_used_bytes).toBe(before)
    })

    it('shows nothing of repositories the caller may not read, and refuses anonymous callers', async () => {
      await createUser(admin, 'stranger', 'stranger-password-1')
      const stranger = admin.asUser('stranger', 'stranger-password-1')
      expect((await stranger.get('/artifactory/api/storage/auto-trashcan')).json().children).toEqual([])
      await expectRestError(await stranger.get('/artifactory/api/storage/auto-trashcan/team-files/builds/1/app.bin'), 403)
      await expectRestError(await admin.anonymous.get('/artifactory/api/storage/auto-trashcan'), 401)
      await expectRestError(await dev.get('/artifactory/api/storage/auto-trashcan/team-files/nothing/here'), 404)
    })

    it('keeps the blob of a trashed file through garbage collection', async () => {
      await gc()
      expect(await blobStored(sha256Of(content))).toBe(true)
    })

    it('refuses a restore by whoever could not delete the file, and bad restores, changing nothing', async () => {
      await expectRestError(await reader.post('/artifactory/api/trash/restore/team-files/builds/1/app.bin'), 403)
      await expectRestError(await dev.post('/artifactory/api/trash/restore/team-files/builds/9/none.bin'), 404, /not in the trash/)
      await expectRestError(await dev.post('/artifactory/api/trash/restore/team-files/builds/1/app.bin?to=no-such-repo/x.bin'), 403)
      await expectRestError(await admin.post('/artifactory/api/trash/restore/team-files/builds/1/app.bin?to=no-such-repo/x.bin'), 404)
      // A file already at the target: a conflict, nothing restored.
      await deploy(dev, 'team-other/taken.bin', other)
      await expectRestError(await dev.post('/artifactory/api/trash/restore/team-files/builds/1/app.bin?to=team-other/taken.bin'), 409, /already exists/)
      expect((await dev.get('/artifactory/api/storage/auto-trashcan/team-files/builds/1/app.bin')).status).toBe(200)
      expect(sha256Of((await dev.get('/artifactory/team-other/taken.bin')).body)).toBe(sha256Of(other))
    })

    it('restores a file byte for byte, with its properties, by whoever could delete it', async () => {
      const used = (await project()).storage_used_bytes
      const response = await dev.post('/artifactory/api/trash/restore/team-files/builds/1/app.bin')
      expect(response.status, response.text).toBe(200)
      expect(response.json()).toMatchObject({ message: 'Successfully restored trash items', restored: ['team-files/builds/1/app.bin'] })
      const restored = await dev.get('/artifactory/team-files/builds/1/app.bin')
      expect(restored.status).toBe(200)
      expect(restored.body.equals(content)).toBe(true)
      expect((await dev.get('/artifactory/api/storage/team-files/builds/1/app.bin?properties')).json().properties).toEqual({ 'build.number': ['1'] })
      expect((await dev.get('/artifactory/api/storage/auto-trashcan/team-files/builds/1/app.bin')).status).toBe(404)
      // Out of the trash and back in the repository: counted once.
      expect((await project()).storage_used_bytes).toBe(used)
    })

    it('restores a folder elsewhere (?to=)', async () => {
      expect((await dev.delete('/artifactory/team-files/builds/1')).status).toBe(204)
      const response = await dev.post('/artifactory/api/trash/restore/team-files/builds/1?to=team-other/rescued')
      expect(response.status, response.text).toBe(200)
      expect(response.json().restored.sort()).toEqual(['team-other/rescued/app.bin', 'team-other/rescued/notes.txt'])
      expect((await dev.get('/artifactory/team-other/rescued/app.bin')).body.equals(content)).toBe(true)
      expect((await dev.get('/artifactory/team-other/rescued/notes.txt')).body.equals(other)).toBe(true)
    })

    it('regenerates the format metadata of a restored file (maven-metadata.xml)', async () => {
      for (const version of ['1.0', '1.1']) await deploy(dev, `libs-release/org/acme/lib/${version}/lib-${version}.jar`, `jar ${version}`)
      const versions = async () => (await dev.get('/artifactory/libs-release/org/acme/lib/maven-metadata.xml')).text
      expect(await versions()).toContain('<version>1.0</version>')
      expect((await dev.delete('/artifactory/libs-release/org/acme/lib/1.0')).status).toBe(204)
      expect(await versions()).not.toContain('<version>1.0</version>')
      expect((await dev.post('/artifactory/api/trash/restore/libs-release/org/acme/lib/1.0')).status).toBe(200)
      expect(await versions()).toContain('<version>1.0</version>')
      expect((await dev.get('/artifactory/libs-release/org/acme/lib/1.0/lib-1.0.jar')).text).toBe('jar 1.0')
    })

    it('cleans a trashed file (admins only), after which garbage collection frees its blob and the quota its bytes', async () => {
      const lone = randomPayload(12_345)
      await deploy(dev, 'team-files/lone.bin', lone)
      expect((await dev.delete('/artifactory/team-files/lone.bin')).status).toBe(204)
      const used = (await project()).storage_used_bytes
      await expectRestError(await dev.delete('/artifactory/api/trash/clean/team-files/lone.bin'), 403)
      await expectRestError(await admin.delete('/artifactory/api/trash/clean/team-files/not-there.bin'), 404)
      expect(await blobStored(sha256Of(lone))).toBe(true)
      const cleaned = await admin.delete('/artifactory/api/trash/clean/team-files/lone.bin')
      expect(cleaned.status, cleaned.text).toBe(200)
      expect(cleaned.json()).toEqual({ files: 1, bytes: lone.length })
      expect((await project()).storage_used_bytes).toBe(used - lone.length)
      await gc()
      expect(await blobStored(sha256Of(lone))).toBe(false)
    })

    it('empties the whole trash (admins only)', async () => {
      await deploy(dev, 'team-files/e1.bin', 'one')
      await deploy(dev, 'team-other/e2.bin', 'two!')
      expect((await dev.delete('/artifactory/team-files/e1.bin')).status).toBe(204)
      expect((await dev.delete('/artifactory/team-other/e2.bin')).status).toBe(204)
      await expectRestError(await dev.post('/artifactory/api/trash/empty'), 403)
      const emptied = await admin.post('/artifactory/api/trash/empty')
      expect(emptied.status).toBe(200)
      expect(emptied.json()).toMatchObject({ files: 2, bytes: 7 })
      expect((await admin.get('/artifactory/api/storage/auto-trashcan')).json().children).toEqual([])
      // What the trash let go is in the usage report, as freed by the trash.
      const usage = (await dev.get('/api/v1/usage/repositories/team-files')).json()
      expect(usage.freed).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'trash', bytes: 3, files: 1 })]))
    })

    it('lets garbage collection empty what is past the retention period, and only that', async () => {
      const old = randomPayload(777)
      await deploy(dev, 'team-files/old.bin', old)
      expect((await dev.delete('/artifactory/team-files/old.bin')).status).toBe(204)
      const trash = server.trove.services.trash
      // Not yet expired: GC keeps it.
      await gc()
      expect((await dev.get('/artifactory/api/storage/auto-trashcan/team-files/old.bin')).status).toBe(200)
      // Eight days later (retention: 7), the trash's own purge (which GC runs first) lets it go.
      expect(await trash.purgeExpired(Date.now() + 8 * DAY_MS)).toEqual({ files: 1, bytes: old.length })
      expect((await dev.get('/artifactory/api/storage/auto-trashcan/team-files/old.bin')).status).toBe(404)
      await gc()
      expect(await blobStored(sha256Of(old))).toBe(false)
    })

    it('trashes what a format change removes when it says it is a deletion (as a cleanup policy deletes a version)', async () => {
      await deploy(dev, 'team-files/pkg/2.0/pkg.bin', 'version two')
      await deploy(dev, 'team-files/pkg/3.0/pkg.bin', 'version three')
      const used = (await project()).storage_used_bytes
      const { artifacts, repositories } = server.trove.services
      const repository = await repositories.require('team-files')
      // A replacement (no trashRemoved): gone for good, released at once.
      await artifacts.applyChanges(repository, { removeFiles: ['pkg/3.0/pkg.bin'] }, 'dev')
      expect((await project()).storage_used_bytes).toBe(used - 'version three'.length)
      await artifacts.applyChanges(repository, { removeFiles: ['pkg/2.0/pkg.bin'], trashRemoved: { user: 'policy:keep-1' } }, 'policy:keep-1')
      expect((await dev.get('/artifactory/team-files/pkg/2.0/pkg.bin')).status).toBe(404)
      expect((await dev.get('/artifactory/api/storage/auto-trashcan/team-files/pkg/2.0/pkg.bin')).json().properties['trash.deletedBy']).toEqual(['policy:keep-1'])
      expect((await dev.get('/artifactory/api/storage/auto-trashcan/team-files/pkg/3.0/pkg.bin')).status).toBe(404)
      expect((await project()).storage_used_bytes).toBe(used - 'version three'.length)
      // Deleted again after a new deploy: the trash keeps the latest, and the older copy leaves the quota.
      await deploy(dev, 'team-files/pkg/2.0/pkg.bin', 'version two, again')
      expect((await dev.delete('/artifactory/team-files/pkg/2.0/pkg.bin')).status).toBe(204)
      expect((await project()).storage_used_bytes).toBe(used - 'version three'.length - 'version two'.length + 'version two, again'.length)
      expect((await dev.post('/artifactory/api/trash/restore/team-files/pkg/2.0/pkg.bin')).status).toBe(200)
      expect((await dev.get('/artifactory/team-files/pkg/2.0/pkg.bin')).text).toBe('version two, again')
    })

    it('keeps counting the trash on the quota when a repository of the project is deleted', async () => {
      await createRepository(admin, 'team-tmp', { projectKey: 'team' })
      await deploy(admin, 'team-tmp/scratch.bin', 's'.repeat(500))
      expect((await admin.delete('/artifactory/team-tmp/scratch.bin')).status).toBe(204)
      const used = (await project()).storage_used_bytes
      expect((await admin.delete('/artifactory/api/repositories/team-tmp')).status).toBe(200)
      expect((await project()).storage_used_bytes).toBe(used)
      expect((await admin.delete('/artifactory/api/trash/clean/team-tmp')).json()).toEqual({ files: 1, bytes: 500 })
      expect((await project()).storage_used_bytes).toBe(used - 500)
    })

    it('reserves the name auto-trashcan', async () => {
      const response = await admin.put('/artifactory/api/repositories/auto-trashcan', { body: { key: 'auto-trashcan', rclass: 'local', packageType: 'generic' } })
      expectRestError(response, 400, /trash can/)
    })

    it('does not trash what is deleted from a repository while the trash can is off', async () => {
      const off = await startTestServer({ backend, settings: { gc: { graceSecs: 0, intervalSecs: 0 } } })
      try {
        const offAdmin = new Client(off.url, off.adminAuth)
        await createRepository(offAdmin, 'plain')
        const gone = randomPayload(100)
        await deploy(offAdmin, 'plain/gone.bin', gone)
        expect((await offAdmin.delete('/artifactory/plain/gone.bin')).status).toBe(204)
        expect((await offAdmin.get('/artifactory/api/storage/auto-trashcan/plain/gone.bin')).status).toBe(404)
        expect((await offAdmin.post('/artifactory/api/system/storage/gc')).json()).toMatchObject({ deleted: 1, freedBytes: 100 })
      } finally {
        await off.close()
      }
    })
  })
}
