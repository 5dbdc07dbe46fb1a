import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, TokenTable } from '../../metadata/schema.js'
import { TroveError, notFound } from '../errors.js'

export interface AccessToken {
  readonly id: string
  readonly subject: string
  readonly description: string
  readonly scope: string
  readonly createdAt: number
  readonly expiresAt: number | null
  readonly lastUsedAt: number | null
}

export interface CreatedToken extends AccessToken {
  /** The secret. Returned once, at creation; only its sha256 is stored. */
  readonly token: string
}

/** Marks Trove tokens so that secret scanners and humans can recognise them. */
const TOKEN_PREFIX = 'trv_'
/** `last_used_at` is written at most this often per token, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000
export const DEFAULT_TOKEN_SCOPE = 'applied-permissions/user'

export class TokenService {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: {
    subject: string
    description?: string | undefined
    scope?: string | undefined
    expiresInSecs?: number | undefined
  }): Promise<CreatedToken> {
    if (input.expiresInSecs !== undefined && (!Number.isSafeInteger(input.expiresInSecs) || input.expiresInSecs < 0)) {
      throw new TroveError('BAD_REQUEST', 'expires_in must be a whole number of seconds (0 for no expiry)')
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
    const now = Date.now()
    const row: TokenTable = {
      id: randomUUID(),
      token_hash: hashToken(token),
      subject: input.subject,
      description: input.description ?? '',
      scope: input.scope ?? DEFAULT_TOKEN_SCOPE,
      created_at: now,
      expires_at: input.expiresInSecs ? now + input.expiresInSecs * 1000 : null,
      last_used_at: null,
    }
    await this.db.insertInto('tokens').values(row).execute()
    return { ...toToken(row), token }
  }

  async list(subject?: string): Promise<AccessToken[]> {
    let query = this.db.selectFrom('tokens').selectAll().orderBy('created_at')
    if (subject !== undefined) query = query.where('subject', '=', subject)
    return (await query.execute()).map(toToken)
  }

  async get(id: string): Promise<AccessToken | undefined> {
    const row = await this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? toToken(row) : undefined
  }

  async revoke(id: string): Promise<void> {
    const result = await this.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`token '${id}' does not exist`)
  }

  /**
   * The token's record when `token` is a valid, unexpired token, else `undefined`. Records the
   * time of use (coarsely, see {@link LAST_USED_RESOLUTION_MS}).
   */
  async verify(token: string): Promise<AccessToken | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined
    const row = await this.db.selectFrom('tokens').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst()
    if (!row) return undefined
    const now = Date.now()
    if (row.expires_at !== null && row.expires_at <= now) return undefined
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      await this.db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', row.id).execute()
      row.last_used_at = now
    }
    return toToken(row)
  }

  static looksLikeToken(secret: string): boolean {
    return secret.startsWith(TOKEN_PREFIX)
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function toToken(row: TokenTable): AccessToken {
  return {
    id: row.id,
    subject: row.subject,
    description: row.description,
    scope: row.scope,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  }
}
