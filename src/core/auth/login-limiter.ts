import { sql, type Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { TroveError } from '../errors.js'
import type { User, UserService } from './user-service.js'

export interface LoginLimits {
  /** Failures for one account within the window that block it; 0: no limit. */
  readonly maxFailuresPerAccount: number
  /** Failures from one client address within the window that block it; 0: no limit. */
  readonly maxFailuresPerAddress: number
  readonly windowSecs: number
  readonly blockSecs: number
}

/**
 * Brute-force protection for password checks (HTTP Basic on any route, npm's legacy login, the
 * console's login): failures are counted per account and per client address in the metadata
 * store, so every node of a cluster sees the same counts; past a limit, password checks for that
 * account or from that address are refused with {@link TooManyLoginsError}, the right password
 * included, until the block ends. A success clears the account's count (not the address's: one
 * valid account must not reset an address that guesses at others). Access tokens never come here.
 */
export class LoginLimiter {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly users: UserService,
    private readonly limits: LoginLimits,
  ) {}

  /**
   * The user when the password is theirs and the account enabled, `undefined` when not (a failure,
   * counted). Throws {@link TooManyLoginsError} without checking when the account or the address is blocked.
   */
  async checkPassword(name: string, password: string, address: string | undefined): Promise<User | undefined> {
    const keys = this.keysOf(name, address)
    if (keys.length === 0) return this.users.checkPassword(name, password)
    const now = Date.now()
    const rows = await this.db.selectFrom('login_failures').selectAll().where('key', 'in', keys.map((k) => k.key)).execute()
    const blocked = rows.find((row) => row.blocked_until > now)
    if (blocked) throw new TooManyLoginsError(blocked.key.startsWith('account:') ? `account '${name}'` : `address ${address}`, blocked.blocked_until - now)

    const user = await this.users.checkPassword(name, password)
    if (user) {
      // Clears only a count that exists: a write on every Basic-authenticated request would be costly.
      if (rows.some((row) => row.key === accountKey(name))) await this.db.deleteFrom('login_failures').where('key', '=', accountKey(name)).execute()
      return user
    }
    for (const { key, max } of keys) await this.recordFailure(key, max, now)
    return undefined
  }

  private keysOf(name: string, address: string | undefined): { key: string; max: number }[] {
    const keys: { key: string; max: number }[] = []
    if (this.limits.maxFailuresPerAccount > 0) keys.push({ key: accountKey(name), max: this.limits.maxFailuresPerAccount })
    if (this.limits.maxFailuresPerAddress > 0 && address) keys.push({ key: `address:${address}`, max: this.limits.maxFailuresPerAddress })
    return keys
  }

  /**
   * One failure more, in one statement so that concurrent failures on several nodes all count: a
   * window that has ended starts over at 1; reaching `max` sets the block.
   */
  private async recordFailure(key: string, max: number, now: number): Promise<void> {
    const windowStart = now - this.limits.windowSecs * 1000
    const blockUntil = now + this.limits.blockSecs * 1000
    const isStale = sql<boolean>`login_failures.window_start < ${windowStart}`
    const next = sql<number>`case when ${isStale} then 1 else login_failures.failures + 1 end`
    await this.db
      .insertInto('login_failures')
      .values({ key, failures: 1, window_start: now, blocked_until: max <= 1 ? blockUntil : 0 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: next,
          window_start: sql<number>`case when ${isStale} then ${now} else login_failures.window_start end`,
          blocked_until: sql<number>`case when ${next} >= ${max} then ${blockUntil} else login_failures.blocked_until end`,
        }),
      )
      .execute()
  }
}

function accountKey(name: string): string {
  // Case-folded: `Alice` and `alice` are one account to an attacker guessing passwords.
  return `account:${name.toLowerCase()}`
}

/** Password checks refused for a while (429); the HTTP layer sends `Retry-After`. */
export class TooManyLoginsError extends TroveError {
  readonly retryAfterSecs: number

  constructor(what: string, remainingMs: number) {
    const secs = Math.max(1, Math.ceil(remainingMs / 1000))
    super('TOO_MANY_REQUESTS', `too many failed logins for ${what}; password logins are refused for ${secs} more seconds (access tokens still work)`, { retryAfterSecs: secs })
    this.retryAfterSecs = secs
  }
}
