import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { TroveError, invalidField, notFound } from '../errors.js'
import { assertUserName } from './user-service.js'

/** A group in Artifactory's JSON shape (`/artifactory/api/security/groups/{name}`). */
export interface Group {
  readonly name: string
  readonly description: string
  readonly autoJoin: boolean
  readonly realm: string
  /** Other Artifactory fields, kept as given. */
  readonly attributes: Readonly<Record<string, unknown>>
  readonly userNames: readonly string[]
}

const KNOWN = new Set(['name', 'description', 'autoJoin', 'adminPrivileges', 'realm', 'userNames'])

/**
 * Groups of users. Members come from `userNames` in the group's JSON, and, for single-sign-on
 * users, from the groups their identity provider reported at their last login (`sso_user_groups`).
 */
export class GroupService {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<Group[]> {
    const rows = await this.db.selectFrom('groups').selectAll().orderBy('name').execute()
    const members = await this.db.selectFrom('group_members').selectAll().orderBy('user_name').execute()
    return rows.map((r) => toGroup(r.name, r.config, members.filter((m) => m.group_name === r.name).map((m) => m.user_name)))
  }

  async get(name: string): Promise<Group | undefined> {
    const row = await this.db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst()
    if (!row) return undefined
    const members = await this.db.selectFrom('group_members').select('user_name').where('group_name', '=', name).orderBy('user_name').execute()
    return toGroup(name, row.config, members.map((m) => m.user_name))
  }

  async require(name: string): Promise<Group> {
    const group = await this.get(name)
    if (!group) throw notFound(`group '${name}' does not exist`)
    return group
  }

  /**
   * Creates or replaces a group (Artifactory's PUT), or with `merge` updates the fields given
   * (POST; the group must exist). `userNames`, when given, replaces the members; every one must
   * be an existing user. Nothing changes when anything is refused.
   */
  async put(name: string, body: unknown, merge: boolean): Promise<{ created: boolean }> {
    assertUserName(name)
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
    const input = body as Record<string, unknown>
    if (input.name !== undefined && input.name !== name) throw invalidField('name', `the name in the body ('${String(input.name)}') differs from the name in the URL ('${name}')`)
    if (input.adminPrivileges === true) {
      throw invalidField('adminPrivileges', 'adminPrivileges: administrator groups are not supported; make the users administrators instead')
    }
    for (const field of ['description', 'realm'] as const) {
      if (input[field] !== undefined && typeof input[field] !== 'string') throw invalidField(field, `${field} must be a string`)
    }
    if (input.autoJoin !== undefined && typeof input.autoJoin !== 'boolean') throw invalidField('autoJoin', 'autoJoin must be true or false')
    const userNames = input.userNames
    if (userNames !== undefined && (!Array.isArray(userNames) || userNames.some((u) => typeof u !== 'string'))) {
      throw invalidField('userNames', 'userNames must be a list of user names')
    }
    const existing = await this.get(name)
    if (merge && !existing) throw notFound(`group '${name}' does not exist`)
    const members = userNames === undefined ? undefined : [...new Set(userNames as string[])]
    if (members && members.length > 0) {
      const found = await this.db.selectFrom('users').select('name').where('name', 'in', members).execute()
      const missing = members.filter((m) => !found.some((f) => f.name === m))
      if (missing.length > 0) throw invalidField('userNames', `userNames: no such user ${missing.map((m) => `'${m}'`).join(', ')}`)
    }
    const base = merge && existing ? { description: existing.description, autoJoin: existing.autoJoin, realm: existing.realm, ...existing.attributes } : {}
    const config = JSON.stringify({ ...base, ...Object.fromEntries(Object.entries(input).filter(([k]) => k !== 'name' && k !== 'userNames' && k !== 'adminPrivileges')) })
    const now = Date.now()
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('groups')
        .values({ name, config, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ config, updated_at: now }))
        .execute()
      if (members !== undefined) {
        await trx.deleteFrom('group_members').where('group_name', '=', name).execute()
        if (members.length > 0) await trx.insertInto('group_members').values(members.map((u) => ({ group_name: name, user_name: u }))).execute()
      }
    })
    return { created: !existing }
  }

  /** Deletes a group, its memberships and its project memberships. */
  async delete(name: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('project_members').where('kind', '=', 'group').where('name', '=', name).execute()
      const result = await trx.deleteFrom('groups').where('name', '=', name).executeTakeFirst()
      if (Number(result.numDeletedRows) === 0) throw notFound(`group '${name}' does not exist`)
    })
  }

  /** The groups a user is in now: local memberships and those from their last single-sign-on login. */
  async groupsOf(user: string): Promise<string[]> {
    const [local, sso] = await Promise.all([
      this.db.selectFrom('group_members').select('group_name').where('user_name', '=', user).execute(),
      this.db.selectFrom('sso_user_groups').select('group_name').where('user_name', '=', user).execute(),
    ])
    return [...new Set([...local, ...sso].map((r) => r.group_name))].sort()
  }

  async assertExists(names: readonly string[]): Promise<void> {
    if (names.length === 0) return
    const found = await this.db.selectFrom('groups').select('name').where('name', 'in', names).execute()
    const missing = names.filter((n) => !found.some((f) => f.name === n))
    if (missing.length > 0) throw new TroveError('BAD_REQUEST', `no such group ${missing.map((m) => `'${m}'`).join(', ')}`)
  }
}

function toGroup(name: string, config: string, userNames: string[]): Group {
  const value = JSON.parse(config) as Record<string, unknown>
  return {
    name,
    description: typeof value.description === 'string' ? value.description : '',
    autoJoin: value.autoJoin === true,
    realm: typeof value.realm === 'string' ? value.realm : 'internal',
    attributes: Object.fromEntries(Object.entries(value).filter(([k]) => !KNOWN.has(k))),
    userNames,
  }
}

