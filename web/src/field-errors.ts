/**
 * The REST API reports validation problems in one message, `field: problem` parts joined by
 * `; ` (e.g. `invalid repository configuration: url: must be an http or https URL`). The forms
 * show each part next to its field; what names no field is shown above the form.
 */
export interface FieldErrors {
  readonly fields: Readonly<Record<string, string>>
  /** What could not be tied to a field. */
  readonly general?: string
}

/** A message pattern that names a field without the `field:` prefix. */
export type FieldRule = readonly [pattern: RegExp, field: string]

export const REPOSITORY_RULES: readonly FieldRule[] = [
  [/repository key|^repository '[^']*' already exists|key in the body/i, 'key'],
  [/^packageType\b/, 'packageType'],
  [/^rclass\b/, 'rclass'],
]

export const USER_RULES: readonly FieldRule[] = [
  [/password/i, 'password'],
  [/user name|^user '[^']*' already exists/i, 'name'],
  [/e-?mail/i, 'email'],
]

export function fieldErrors(message: string, fields: readonly string[], rules: readonly FieldRule[] = []): FieldErrors {
  const body = message.replace(/^invalid [a-z ]+configuration:\s*/i, '')
  const found: Record<string, string> = {}
  const general: string[] = []
  for (const part of body.split(/;\s+/)) {
    const prefixed = /^([A-Za-z][\w.]*):\s+(.+)$/s.exec(part)
    const field = prefixed && fields.includes(prefixed[1]!.split('.')[0]!) ? prefixed[1]!.split('.')[0]! : undefined
    if (field !== undefined) {
      found[field] = found[field] ? `${found[field]}; ${prefixed![2]!}` : prefixed![2]!
      continue
    }
    const rule = rules.find(([pattern, name]) => fields.includes(name) && pattern.test(part))
    if (rule) found[rule[1]] = found[rule[1]] ? `${found[rule[1]]}; ${part}` : part
    else general.push(part)
  }
  return general.length > 0 ? { fields: found, general: general.join('; ') } : { fields: found }
}
