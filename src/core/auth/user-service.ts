import { createHash, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, UserTable } from '../../metadata/schema.js'
import { TroveError, invalidField, notFound } from '../errors.js'
import { hashPassword, verifyPassword } from './password.js'

export interface User {
  readonly name: string
  readonly email: string | null
  readonly isAdmin: boolean
  readonly isDisabled: boolean
  readonly hasPassword: boolean
  /** Other Artifactory user fields, kept as given. */
  readonly attributes: Readonly<Record<string, unknown>>
  readonly createdAt: number
  readonly updatedAt: number
}

export interface UserInput {
  readonly email?: string | null | undefined
  readonly password?: string | undefined
  readonly isAdmin?: boolean | undefined
  readonly isDisabled?: boolean | undefined
  readonly attributes?: Record<string, unknown> | undefined
}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/
export const ADMIN_USER = 'admin'
const MIN_PASSWORD_LENGTH = 8
const VERIFIED_CACHE_LIMIT = 1000

export class UserService {
  /**
   * Successful password checks, keyed by the stored hash and a digest of the password given, so a
   * changed password misses at once. scrypt is deliberately slow; clients send Basic auth on every
   * request.
   */
  private readonly verified = new Map<string, number>()

  constructor(
    private readonly db: Kysely<Database>,
    /** Called after a change that may end credentials (a revoked token, a changed password, a disabled or deleted account); see Authenticator's cache. */
    private readonly credentialsChanged: () => Promise<void> = async () => {},
  ) {}

  /**
   * Creates the `admin` account when no user exists yet. Returns the password when this call
   * created it (generated unless given), `undefined` when an admin already existed. Safe when
   * several nodes start at once: only one insert wins.
   */
  async bootstrapAdmin(password: string | undefined): Promise<{ password: string; generated: boolean } | undefined> {
    const existing = await this.db.selectFrom('users').select('name').limit(1).executeTakeFirst()
    if (existing) return undefined
    const chosen = password ?? randomBytes(18).toString('base64url')
    const now = Date.now()
    const result = await this.db
      .insertInto('users')
      .values({
        name: ADMIN_USER,
        email: null,
        password_hash: await hashPassword(chosen),
        is_admin: 1,
        is_disabled: 0,
        attributes: '{}',
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst()
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) return undefined
    return { password: chosen, generated: password === undefined }
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute()
    return rows.map(toUser)
  }

  async get(name: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst()
    return row ? toUser(row) : undefined
  }

  async require(name: string): Promise<User> {
    const user = await this.get(name)
    if (!user) throw notFound(`user '${name}' does not exist`)
    return user
  }

  /** Creates or replaces a user (Artifactory's PUT). A new user needs a password. */
  async put(name: string, input: UserInput): Promise<{ created: boolean }> {
    assertUserName(name)
    const existing = await this.get(name)
    if (!existing && input.password === undefined) {
      throw invalidField('password', 'a new user needs a password')
    }
    if (existing) {
      await this.update(name, input)
      return { created: false }
    }
    const now = Date.now()
    await this.db
      .insertInto('users')
      .values({
        name,
        email: input.email ?? null,
        password_hash: await this.hashChecked(input.password!),
        is_admin: input.isAdmin ? 1 : 0,
        is_disabled: input.isDisabled ? 1 : 0,
        attributes: JSON.stringify(input.attributes ?? {}),
        created_at: now,
        updated_at: now,
      })
      .execute()
    return { created: true }
  }

  /** Updates the fields given (Artifactory's POST). */
  async update(name: string, input: UserInput): Promise<void> {
    const user = await this.require(name)
    if (name === ADMIN_USER && (input.isAdmin === false || input.isDisabled === true)) {
      throw invalidField(input.isAdmin === false ? 'admin' : 'disabled', `the '${ADMIN_USER}' user cannot lose admin rights or be disabled`)
    }
    if (input.password !== undefined && (await this.isServiceAccount(name))) {
      throw invalidField('password', `'${name}' is a service account: it has no password and acts only through access tokens`)
    }
    const changes: Partial<UserTable> = { updated_at: Date.now() }
    if (input.email !== undefined) changes.email = input.email
    if (input.password !== undefined) changes.password_hash = await this.hashChecked(input.password)
    if (input.isAdmin !== undefined) changes.is_admin = input.isAdmin ? 1 : 0
    if (input.isDisabled !== undefined) changes.is_disabled = input.isDisabled ? 1 : 0
    if (input.attributes !== undefined) changes.attributes = JSON.stringify({ ...user.attributes, ...input.attributes })
    await this.db.updateTable('users').set(changes).where('name', '=', name).execute()
    await this.credentialsChanged()
  }

  async delete(name: string): Promise<void> {
    if (name === ADMIN_USER) throw new TroveError('BAD_REQUEST', `the '${ADMIN_USER}' user cannot be deleted`)
    const result = await this.db.deleteFrom('users').where('name', '=', name).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`user '${name}' does not exist`)
    await this.credentialsChanged()
  }

  /** The user when `password` is theirs and the account is enabled, else `undefined`. */
  async checkPassword(name: string, password: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst()
    if (row && !row.password_hash && (await this.isServiceAccount(name))) {
      // Said plainly, on every password path (Basic, npm login, console login): a CI job should learn to use its token.
      throw new TroveError('UNAUTHORIZED', `'${name}' is a service account: it cannot log in with a password; authenticate with one of its access tokens`)
    }
    if (!row || row.is_disabled || !row.password_hash) return undefined
    const cacheKey = `${row.password_hash}\0${createHash('sha256').update(password).digest('hex')}`
    if (!this.verified.has(cacheKey)) {
      if (!(await verifyPassword(password, row.password_hash))) return undefined
      if (this.verified.size >= VERIFIED_CACHE_LIMIT) this.verified.clear()
      this.verified.set(cacheKey, Date.now())
    }
    return toUser(row)
  }

  /** Whether `name` is a service account (a user without a password that belongs to a project). */
  async isServiceAccount(name: string): Promise<boolean> {
    return (await this.db.selectFrom('service_accounts').select('name').where('name', '=', name).executeTakeFirst()) !== undefined
  }

  /** The service accounts, with their projects; of one project when given. */
  async serviceAccounts(projectKey?: string): Promise<{ name: string; projectKey: string; createdAt: number }[]> {
    let query = this.db.selectFrom('service_accounts').selectAll().orderBy('name')
    if (projectKey !== undefined) query = query.where('project_key', '=', projectKey)
    return (await query.execute()).map((r) => ({ name: r.name, projectKey: r.project_key, createdAt: r.created_at }))
  }

  /**
   * Creates a service account of a project: a user with no password (it cannot log in) and a
   * service-account row, in one transaction. CONFLICT when the name is taken by any user.
   */
  async createServiceAccount(name: string, projectKey: string): Promise<void> {
    assertUserName(name)
    const now = Date.now()
    await this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('users')
        .values({ name, email: null, password_hash: null, is_admin: 0, is_disabled: 0, attributes: '{}', created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst()
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) throw new TroveError('CONFLICT', `the name '${name}' is taken by a user`)
      await trx.insertInto('service_accounts').values({ name, project_key: projectKey, created_at: now }).execute()
    })
  }

  private async hashChecked(password: string): Promise<string> {
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw invalidField('password', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`)
    }
    return hashPassword(password)
  }
}

/** Refuses (NAME_INVALID, naming the `name` field) what is not a user name. */
export function assertUserName(name: string): void {
  if (!USER_NAME.test(name) || name === 'anonymous') {
    throw invalidField('name', `invalid user name '${name}': 1 to 64 characters from A-Z, a-z, 0-9, '.', '_', '@', '-'`, 'NAME_INVALID')
  }
}

function toUser(row: UserTable): User {
  return {
    name: row.name,
    email: row.email,
    isAdmin: row.is_admin === 1,
    isDisabled: row.is_disabled === 1,
    hasPassword: row.password_hash !== null,
    attributes: JSON.parse(row.attributes) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
