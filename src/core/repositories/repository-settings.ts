import type { z } from 'zod'
import type { RepositoryClass } from './repository-service.js'
/** One repository setting a format adds to Artifactory's repository JSON (e.g. Maven's `handleSnapshots`). */
export interface RepositorySetting {
  /** The field name in the repository JSON (Artifactory's name where it has one). */
  readonly name: string
  readonly label: string
  /** One sentence for the console's form. */
  readonly help: string
  /** Classes it applies to; it is refused on the others. */
  readonly kinds: readonly RepositoryClass[]
  readonly type: 'boolean' | 'number' | 'string' | 'string-list' | 'enum'
  /** For `enum`. */
  readonly values?: readonly string[]
  readonly default?: boolean | number | string | readonly string[]
  /** Validates a given value (the message is shown next to the field). */
  readonly schema: z.ZodType
}
