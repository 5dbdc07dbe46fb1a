import { z } from 'zod'
import { configSection } from '../../core/index.js'

const bytes = z.number().int().positive()

/** The `npm` section of the configuration (YAML `npm:`, `TROVE_NPM_*`). */
export const npmConfig = configSection({
  key: 'npm',
  schema: z
    .object({
      /** Largest package tarball `npm publish` may upload (decoded bytes, the base64 in the body is 4/3 of it). */
      maxTarballBytes: bytes.default(256 * 1024 * 1024),
      /** Largest npm JSON document without its tarball: a publish's metadata, a packument update (deprecate, unpublish). */
      maxMetadataBytes: bytes.default(32 * 1024 * 1024),
      /** Largest total size of the files inside one tarball, read to check its package.json (zip-bomb guard). */
      maxUnpackedBytes: bytes.default(2 * 1024 * 1024 * 1024),
    })
    .strict(),
  env: {
    TROVE_NPM_MAX_TARBALL_BYTES: { path: ['maxTarballBytes'], type: 'number' },
    TROVE_NPM_MAX_METADATA_BYTES: { path: ['maxMetadataBytes'], type: 'number' },
    TROVE_NPM_MAX_UNPACKED_BYTES: { path: ['maxUnpackedBytes'], type: 'number' },
  },
})

export type NpmConfig = z.output<typeof npmConfig.schema>
