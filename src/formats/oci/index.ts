import type { FastifyInstance } from 'fastify'
import type { CoreServices } from '../../core/services.js'
import type { Format } from '../format.js'
import { ociScanning } from './scanning.js'
import { ManifestCache } from './manifest-cache.js'
import { LocalRegistry } from './registry.js'
import { registryRoutes } from './routes.js'
import { ociSetMeUp } from './set-me-up.js'
import { UploadSessions } from './uploads.js'

/** Manifest bytes kept in memory per node (content-addressed, so never stale). */
const MANIFEST_CACHE_BYTES = 32 * 1024 * 1024
const UPLOAD_SWEEP_JOB = 'oci-upload-cleanup'

/**
 * Docker and OCI images, Helm charts and any OCI artifact: Artifactory's `docker` package type,
 * served by the OCI distribution API with Docker token authentication.
 */
export const ociFormat: Format = {
  id: 'docker',
  kinds: ['local', 'remote', 'virtual'],
  scanning: ociScanning,
  title: 'Docker',
  setMeUp: ociSetMeUp,
  console: { packageNoun: 'image', browseHints: ['An image is a folder, with a folder per tag holding its manifest.json and layers.'] },
  async register(app: FastifyInstance, services: CoreServices): Promise<void> {
    const { config } = services
    const registry = new LocalRegistry(services.metadata.db, services.blobs, services.artifacts, new ManifestCache(MANIFEST_CACHE_BYTES))
    const uploads = new UploadSessions(services.uploads, registry, { maxPerUser: config.oci.maxUploadsPerUser })

    // Abandoned upload sessions go after the configured time, on whichever node leases the job.
    services.jobs.register(UPLOAD_SWEEP_JOB, async () => services.uploads.sweep(config.oci.uploadExpirySecs * 1000))
    services.jobs.schedule(UPLOAD_SWEEP_JOB, Math.min(config.oci.uploadExpirySecs * 1000, 3600_000))

    await registryRoutes(app, services, { registry, uploads })
  },
}
