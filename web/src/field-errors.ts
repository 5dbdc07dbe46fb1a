import { ApiError } from './api.js'

/**
 * A refused form, as the form shows it: each problem next to the field the REST API names in its
 * error entry (`field`, src/api/errors.ts), the rest above the form. Messages are never read to
 * find their field.
 */
export interface FieldErrors {
  readonly fields: Readonly<Record<string, string>>
  /** What names no field of the form. */
  readonly general?: string
}

/**
 * The problems of `error` placed on the form's `fields`: an entry counts for the form field its
 * JSON path starts with (`repositories[1]` for `repositories`, `repo.actions.users` for `repo`).
 */
export function fieldErrors(error: unknown, fields: readonly string[]): FieldErrors {
  if (!(error instanceof ApiError) || error.errors.length === 0) return { fields: {}, general: (error as Error).message }
  const found: Record<string, string> = {}
  const general: string[] = []
  for (const entry of error.errors) {
    const field = entry.field === undefined ? undefined : topField(entry.field)
    if (field !== undefined && fields.includes(field)) found[field] = found[field] ? `${found[field]}; ${entry.message}` : entry.message
    else general.push(entry.message)
  }
  return general.length > 0 ? { fields: found, general: general.join('; ') } : { fields: found }
}

/** The first member of a JSON path: `repositories` of `repositories[1]`, `repo` of `repo.actions`. */
function topField(path: string): string {
  return /^[^.[]*/.exec(path)![0]
}
