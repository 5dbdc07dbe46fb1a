import type { FastifyInstance } from 'fastify'
import { BytesCache, type FormatContext } from '../../core/index.js'
import type { Format } from '../format.js'
import { ociConfig } from './config.js'
import { ociScanning } from './scanning.js'
import { oci } from './migrations/003-oci.js'
import { ociUploadsRetired } from './migrations/20261207-oci-uploads-retired.js'
import { LocalRegistry } from './registry.js'
import { registryRoutes } from './routes.js'
import { ociPackageViews } from './package-views.js'
import { ociSetMeUp } from './set-me-up.js'
import type { OciTables } from './tables.js'
import { UploadSessions } from './uploads.js'
import { ociVersions } from './versions.js'

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
  migrations: { '003-oci': oci, '20261207-oci-uploads-retired': ociUploadsRetired },
  config: ociConfig,
  title: 'Docker',
  setMeUp: ociSetMeUp,
  packageVersions: ociVersions,
  console: { packageNoun: 'image', browseHints: ['In the file tree, an image is a folder, with a folder per tag holding its manifest.json and layers.'] },
  packages: (services) => ociPackageViews(services.tables<OciTables>()),
  async register(app: FastifyInstance, services: FormatContext): Promise<void> {
    const config = services.section(ociConfig)
    const tables = services.tables<OciTables>()
    const registry = new LocalRegistry(tables, services.blobs, services.artifacts, new BytesCache(MANIFEST_CACHE_BYTES))
    const uploads = new UploadSessions(services.uploads, registry, { maxPerUser: config.maxUploadsPerUser })

    // Abandoned upload sessions go after the configured time, on whichever node leases the job.
    services.jobs.register(UPLOAD_SWEEP_JOB, async () => services.uploads.sweep(config.uploadExpirySecs * 1000))
    services.jobs.schedule(UPLOAD_SWEEP_JOB, Math.min(config.uploadExpirySecs * 1000, 3600_000))

    await registryRoutes(app, services, { registry, uploads, tokenExpirySecs: config.tokenExpirySecs })
  },
}
