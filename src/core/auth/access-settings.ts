import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { TroveError, invalidField } from '../errors.js'

export interface AccessSettingsValue {
  /** Longest lifetime of an access token, in seconds; 0: no maximum. */
  readonly tokenMaxExpirySecs: number
  /** Remote repositories outside projects are readable by every authenticated user. */
  readonly remoteReadableByAuthenticated: boolean
}

export const DEFAULT_ACCESS_SETTINGS: AccessSettingsValue = { tokenMaxExpirySecs: 0, remoteReadableByAuthenticated: true }

const NAME = 'access.settings'

/**
 * Global access switches, stored in the settings table like the read-only switch so that every
 * node sees the same value. Read at most once per event-loop turn (many requests share a turn).
 */
export class AccessSettings {
  private pending: Promise<AccessSettingsValue> | undefined

  constructor(private readonly db: Kysely<Database>) {}

  get(): Promise<AccessSettingsValue> {
    if (!this.pending) {
      setImmediate(() => (this.pending = undefined))
      this.pending = this.db
        .selectFrom('settings')
        .select('value')
        .where('name', '=', NAME)
        .executeTakeFirst()
        .then((row) => ({ ...DEFAULT_ACCESS_SETTINGS, ...(row ? (JSON.parse(row.value) as Partial<AccessSettingsValue>) : {}) }))
    }
    return this.pending
  }

  /** Changes the fields given; refuses unknown fields and wrong types (nothing is changed then). */
  async update(body: unknown): Promise<AccessSettingsValue> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
    const input = body as Record<string, unknown>
    for (const field of Object.keys(input)) {
      if (!(field in DEFAULT_ACCESS_SETTINGS)) throw invalidField(field, `unknown setting '${field}' (known: ${Object.keys(DEFAULT_ACCESS_SETTINGS).join(', ')})`)
    }
    const max = input.tokenMaxExpirySecs
    if (max !== undefined && (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 0)) {
      throw invalidField('tokenMaxExpirySecs', 'tokenMaxExpirySecs must be a whole number of seconds (0: no maximum)')
    }
    const remote = input.remoteReadableByAuthenticated
    if (remote !== undefined && typeof remote !== 'boolean') throw invalidField('remoteReadableByAuthenticated', 'remoteReadableByAuthenticated must be true or false')
    this.pending = undefined
    const value = JSON.stringify({ ...(await this.get()), ...input })
    const now = Date.now()
    await this.db
      .insertInto('settings')
      .values({ name: NAME, value, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now }))
      .execute()
    this.pending = undefined
    return this.get()
  }
}
