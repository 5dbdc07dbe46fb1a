import { z } from 'zod'
import { configSection } from '../../core/index.js'

const seconds = z.number().int().nonnegative()

/** The `oci` section of the configuration (YAML `oci:`, `TROVE_OCI_*`). */
export const ociConfig = configSection({
  key: 'oci',
  schema: z
    .object({
      /** An upload session (chunked push) untouched for this long is abandoned and its data removed. */
      uploadExpirySecs: seconds.min(60).default(24 * 3600),
      /** Lifetime of the registry tokens that `/v2/token` issues. */
      tokenExpirySecs: seconds.min(30).default(300),
      /** Open upload sessions one user may hold at once; past it, TOOMANYREQUESTS. */
      maxUploadsPerUser: z.number().int().positive().default(1000),
    })
    .strict(),
  env: {
    TROVE_OCI_UPLOAD_EXPIRY_SECS: { path: ['uploadExpirySecs'], type: 'number' },
    TROVE_OCI_TOKEN_EXPIRY_SECS: { path: ['tokenExpirySecs'], type: 'number' },
  },
})

export type OciConfig = z.output<typeof ociConfig.schema>
