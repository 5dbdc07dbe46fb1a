import { z } from 'zod'
import { configSection } from '../../../src/core/index.js'

/** The `sample` section of the configuration (YAML `sample:`, `TROVE_SAMPLE_*`). */
export const sampleConfig = configSection({
  key: 'sample',
  schema: z
    .object({
      /** Largest package an upload may announce. */
      maxPackageBytes: z.number().int().positive().default(1024 * 1024),
    })
    .strict(),
  env: { TROVE_SAMPLE_MAX_PACKAGE_BYTES: { path: ['maxPackageBytes'], type: 'number' } },
})
