import { z } from 'zod'
import { configSection } from '../../core/index.js'

/** The `gems:` section of the configuration. */
export const gemsConfig = configSection({
  key: 'gems',
  schema: z
    .object({
      /** The largest .gem `gem push` may send, and the most its contents may unpack to when checked. */
      maxGemBytes: z.number().int().positive().default(512 * 1024 * 1024),
    })
    .strict(),
  env: { TROVE_GEMS_MAX_GEM_BYTES: { path: ['maxGemBytes'], type: 'number' } },
})
