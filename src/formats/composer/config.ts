import { z } from 'zod'
import { configSection } from '../../core/index.js'

const bytes = z.number().int().positive()

/** The `composer` section of the configuration (YAML `composer:`, `TROVE_COMPOSER_*`). */
export const composerConfig = configSection({
  key: 'composer',
  schema: z
    .object({
      /** Largest package zip a deploy may upload. */
      maxArchiveBytes: bytes.default(512 * 1024 * 1024),
      /** Largest total size of the files inside one archive, read to find its composer.json (zip-bomb guard). */
      maxUnpackedBytes: bytes.default(2 * 1024 * 1024 * 1024),
      /** Most entries in one archive. */
      maxArchiveEntries: bytes.default(100_000),
    })
    .strict(),
  env: {
    TROVE_COMPOSER_MAX_ARCHIVE_BYTES: { path: ['maxArchiveBytes'], type: 'number' },
    TROVE_COMPOSER_MAX_UNPACKED_BYTES: { path: ['maxUnpackedBytes'], type: 'number' },
    TROVE_COMPOSER_MAX_ARCHIVE_ENTRIES: { path: ['maxArchiveEntries'], type: 'number' },
  },
})

export type ComposerConfig = z.output<typeof composerConfig.schema>
