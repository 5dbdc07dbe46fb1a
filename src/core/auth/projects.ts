import type { Kysely } from 'kysely'
import type { Database, ProjectTable } from '../../metadata/schema.js'
import { TroveError, conflict, invalidField, notFound } from '../errors.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'
import { ACTIONS, type Action } from './principal.js'
import type { UserService } from './user-service.js'

/** DESIGN.md's built-in project roles and the actions each grants on every repository of its project. */
export const PROJECT_ROLES: Readonly<Record<string, readonly Action[]>> = {
  'Project Admin': ACTIONS,
  Developer: ['read', 'annotate', 'deploy', 'delete'],
  Contributor: ['read', 'annotate', 'deploy'],
  Viewer: ['read'],
}
export const PROJECT_ADMIN = 'Project Admin'

/** What a Project Admin may do besides the repository actions (Artifactory's `admin_privileges`). */
export interface AdminPrivileges {
  /** Add and remove members and service accounts, issue service-account tokens. */
  readonly manageMembers: boolean
  /** Create, update, delete and share the project's repositories (the `manage` action). */
  readonly manageResources: boolean
  /** Stored for Artifactory clients; Trove has no indexing to switch. */
  readonly indexResources: boolean
}

export interface Project {
  readonly key: string
  readonly displayName: string
  readonly description: string
  /** -1: no quota. */
  readonly storageQuotaBytes: number
  readonly usedBytes: number
  readonly adminPrivileges: AdminPrivileges
  readonly createdAt: number
  readonly updatedAt: number
}

export interface ProjectInput {
  readonly displayName?: string | undefined
  readonly description?: string | undefined
  readonly storageQuotaBytes?: number | undefined
  readonly adminPrivileges?: Partial<AdminPrivileges> | undefined
}

export type MemberKind = 'user' | 'group'

export interface ProjectMember {
  readonly kind: MemberKind
  readonly name: string
  readonly roles: readonly string[]
}

/** The shares of a repository: read-only access for other projects, or for all. */
export interface RepositoryShares {
  readonly withAll: boolean
  readonly projects: readonly string[]
}

const PROJECT_KEY = /^[a-z][a-z0-9]{1,31}$/
const ALL = '*'
const DEFAULT_PRIVILEGES: AdminPrivileges = { manageMembers: true, manageResources: true, indexResources: true }

export function assertProjectKey(key: string): void {
  if (!PROJECT_KEY.test(key)) {
    throw invalidField('project_key', `invalid project key '${key}': 2 to 32 characters, a-z then a-z or 0-9 (repositories of the project are named '${key}-…')`, 'NAME_INVALID')
  }
}

/** The project a repository key names by its prefix (`team-docker` → `team`), whether or not it exists. */
export function projectKeyPrefix(repoKey: string): string | undefined {
  const dash = repoKey.indexOf('-')
  const prefix = dash > 0 ? repoKey.slice(0, dash) : ''
  return PROJECT_KEY.test(prefix) ? prefix : undefined
}

/**
 * Projects: a team's space with members (users, groups, service accounts) holding roles, its
 * repositories (config field `projectKey`, keys `<project>-…`), read-only shares and a storage
 * quota (the usage counter itself is kept by {@link StorageQuota}).
 */
export class ProjectService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly users: UserService,
    private readonly repositories: RepositoryService,
    /** Called after a change that may end credentials (a revoked token, a changed password, a disabled or deleted account); see Authenticator's cache. */
    private readonly credentialsChanged: () => Promise<void> = async () => {},
  ) {}

  async list(): Promise<Project[]> {
    return (await this.db.selectFrom('projects').selectAll().orderBy('key').execute()).map(toProject)
  }

  async get(key: string): Promise<Project | undefined> {
    const row = await this.db.selectFrom('projects').selectAll().where('key', '=', key).executeTakeFirst()
    return row ? toProject(row) : undefined
  }

  async require(key: string): Promise<Project> {
    const project = await this.get(key)
    if (!project) throw notFound(`project '${key}' does not exist`)
    return project
  }

  async create(key: string, input: ProjectInput): Promise<Project> {
    assertProjectKey(key)
    const now = Date.now()
    const row: ProjectTable = {
      key,
      display_name: input.displayName ?? key,
      description: input.description ?? '',
      storage_quota_bytes: checkedQuota(input.storageQuotaBytes ?? -1),
      used_bytes: 0,
      admin_privileges: JSON.stringify({ ...DEFAULT_PRIVILEGES, ...input.adminPrivileges }),
      created_at: now,
      updated_at: now,
    }
    const result = await this.db.insertInto('projects').values(row).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst()
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw invalidField('project_key', `project '${key}' already exists`, 'CONFLICT')
    // Repositories named `<key>-…` before the project existed stay outside it: membership is the
    // explicit `projectKey` of a repository, set when the repository is created.
    return toProject(row)
  }

  /**
   * Updates the fields given. Lowering the quota below the usage is allowed (uploads are refused
   * until deletions bring the usage under it), as Artifactory does.
   */
  async update(key: string, input: ProjectInput): Promise<Project> {
    const existing = await this.require(key)
    const changes: Partial<ProjectTable> = { updated_at: Date.now() }
    if (input.displayName !== undefined) changes.display_name = input.displayName
    if (input.description !== undefined) changes.description = input.description
    if (input.storageQuotaBytes !== undefined) changes.storage_quota_bytes = checkedQuota(input.storageQuotaBytes)
    if (input.adminPrivileges !== undefined) changes.admin_privileges = JSON.stringify({ ...existing.adminPrivileges, ...input.adminPrivileges })
    await this.db.updateTable('projects').set(changes).where('key', '=', key).execute()
    return this.require(key)
  }

  /** Deletes a project with its members and service accounts; refused while repositories belong to it. */
  async delete(key: string): Promise<void> {
    await this.require(key)
    const owned = await this.repositoryKeys(key)
    if (owned.length > 0) throw conflict(`project '${key}' still has repositories (${owned.join(', ')}); delete them first`)
    const accounts = await this.users.serviceAccounts(key)
    await this.db.transaction().execute(async (trx) => {
      if (accounts.length > 0) await trx.deleteFrom('users').where('name', 'in', accounts.map((a) => a.name)).execute()
      await trx.deleteFrom('project_members').where('project_key', '=', key).execute()
      await trx.deleteFrom('projects').where('key', '=', key).execute()
    })
    if (accounts.length > 0) await this.credentialsChanged()
  }

  /** Keys of the repositories that belong to the project. */
  async repositoryKeys(key: string): Promise<string[]> {
    return (await this.repositories.list()).filter((r) => r.config.projectKey === key).map((r) => r.key)
  }

  // Members

  async members(key: string, kind: MemberKind): Promise<ProjectMember[]> {
    const rows = await this.db.selectFrom('project_members').selectAll().where('project_key', '=', key).where('kind', '=', kind).orderBy('name').execute()
    return rows.map((r) => ({ kind: r.kind, name: r.name, roles: JSON.parse(r.roles) as string[] }))
  }

  async member(key: string, kind: MemberKind, name: string): Promise<ProjectMember | undefined> {
    const row = await this.db
      .selectFrom('project_members')
      .selectAll()
      .where('project_key', '=', key)
      .where('kind', '=', kind)
      .where('name', '=', name)
      .executeTakeFirst()
    return row ? { kind: row.kind, name: row.name, roles: JSON.parse(row.roles) as string[] } : undefined
  }

  /** Adds a member or replaces its roles. The user or group must exist; a service account only joins its own project. */
  async setMember(key: string, kind: MemberKind, name: string, roles: unknown): Promise<ProjectMember> {
    await this.require(key)
    const checked = checkedRoles(roles)
    if (kind === 'user') {
      await this.users.require(name)
      const account = (await this.users.serviceAccounts()).find((a) => a.name === name)
      if (account && account.projectKey !== key) {
        throw new TroveError('BAD_REQUEST', `'${name}' is a service account of project '${account.projectKey}'; it cannot join '${key}'`)
      }
    } else if (!(await this.db.selectFrom('groups').select('name').where('name', '=', name).executeTakeFirst())) {
      throw notFound(`group '${name}' does not exist`)
    }
    const value = JSON.stringify(checked)
    await this.db
      .insertInto('project_members')
      .values({ project_key: key, kind, name, roles: value })
      .onConflict((oc) => oc.columns(['project_key', 'kind', 'name']).doUpdateSet({ roles: value }))
      .execute()
    return { kind, name, roles: checked }
  }

  async removeMember(key: string, kind: MemberKind, name: string): Promise<void> {
    const result = await this.db
      .deleteFrom('project_members')
      .where('project_key', '=', key)
      .where('kind', '=', kind)
      .where('name', '=', name)
      .executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`${kind} '${name}' is not a member of project '${key}'`)
  }

  /** The roles held in each project by a user (when given, directly) and through the given groups. */
  async rolesOf(user: string | undefined, groups: readonly string[]): Promise<Map<string, Set<string>>> {
    const result = new Map<string, Set<string>>()
    if (user === undefined && groups.length === 0) return result
    const rows = await this.db
      .selectFrom('project_members')
      .selectAll()
      .where((eb) =>
        eb.or([
          ...(user !== undefined ? [eb.and([eb('kind', '=', 'user'), eb('name', '=', user)])] : []),
          ...(groups.length > 0 ? [eb.and([eb('kind', '=', 'group'), eb('name', 'in', groups)])] : []),
        ]),
      )
      .execute()
    for (const row of rows) {
      const roles = result.get(row.project_key) ?? new Set<string>()
      for (const role of JSON.parse(row.roles) as string[]) roles.add(role)
      result.set(row.project_key, roles)
    }
    return result
  }

  // Service accounts

  async createServiceAccount(key: string, name: string, roles: unknown): Promise<ProjectMember> {
    await this.require(key)
    const checked = checkedRoles(roles)
    await this.users.createServiceAccount(name, key)
    return this.setMember(key, 'user', name, checked)
  }

  async deleteServiceAccount(key: string, name: string): Promise<void> {
    const account = (await this.users.serviceAccounts(key)).find((a) => a.name === name)
    if (!account) throw notFound(`project '${key}' has no service account '${name}'`)
    // Its tokens and memberships go with the user (foreign keys cascade; memberships by hand).
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('project_members').where('kind', '=', 'user').where('name', '=', name).execute()
      await trx.deleteFrom('users').where('name', '=', name).execute()
    })
    await this.credentialsChanged()
  }

  // Repositories

  /**
   * The body of a repository create or update, checked against projects: `projectKey`, when given,
   * names an existing project whose prefix the key carries; a new repository named `<project>-…`
   * of an existing project joins it; a repository never moves between projects.
   */
  async repositoryBody(repoKey: string, body: unknown, existing: Repository | undefined): Promise<unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return body
    const given = (body as Record<string, unknown>).projectKey
    if (given !== undefined && given !== null && given !== '' && typeof given !== 'string') throw invalidField('projectKey', 'projectKey must be a string')
    const asked = typeof given === 'string' && given !== '' ? given : undefined
    if (existing) {
      // An update: the project stays.
      const existingProject = typeof existing.config.projectKey === 'string' ? existing.config.projectKey : undefined
      if (given !== undefined && asked !== existingProject) {
        throw invalidField('projectKey', `projectKey cannot be changed (the repository ${existingProject ? `belongs to project '${existingProject}'` : 'belongs to no project'})`)
      }
      return body
    }
    if (asked !== undefined) {
      await this.require(asked)
      if (!repoKey.startsWith(`${asked}-`)) {
        throw invalidField('key', `a repository of project '${asked}' must be named '${asked}-…' (got '${repoKey}')`)
      }
      return body
    }
    const prefix = projectKeyPrefix(repoKey)
    if (prefix && (await this.get(prefix))) return { ...(body as Record<string, unknown>), projectKey: prefix }
    return body
  }

  async shares(repoKey: string): Promise<RepositoryShares> {
    const rows = await this.db.selectFrom('project_shares').select('target').where('repo_key', '=', repoKey).orderBy('target').execute()
    return { withAll: rows.some((r) => r.target === ALL), projects: rows.map((r) => r.target).filter((t) => t !== ALL) }
  }

  /** Shares a project's repository read-only with another project, or (target undefined) with everyone. */
  async share(repoKey: string, target: string | undefined): Promise<void> {
    const repository = await this.repositories.require(repoKey)
    const owner = repository.config.projectKey
    if (typeof owner !== 'string') throw new TroveError('BAD_REQUEST', `repository '${repoKey}' belongs to no project; only project repositories are shared`)
    if (target !== undefined) {
      await this.require(target)
      if (target === owner) throw new TroveError('BAD_REQUEST', `repository '${repoKey}' already belongs to project '${target}'`)
    }
    await this.db
      .insertInto('project_shares')
      .values({ repo_key: repoKey, target: target ?? ALL, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['repo_key', 'target']).doNothing())
      .execute()
  }

  async unshare(repoKey: string, target: string | undefined): Promise<void> {
    const result = await this.db.deleteFrom('project_shares').where('repo_key', '=', repoKey).where('target', '=', target ?? ALL).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`repository '${repoKey}' is not shared with ${target ? `project '${target}'` : 'all projects'}`)
  }
}

/** The actions a set of role names grants; unknown names grant nothing. */
export function roleActions(roles: Iterable<string>): Set<Action> {
  const actions = new Set<Action>()
  for (const role of roles) for (const action of PROJECT_ROLES[role] ?? []) actions.add(action)
  return actions
}

function checkedRoles(roles: unknown): string[] {
  if (!Array.isArray(roles) || roles.length === 0 || roles.some((r) => typeof r !== 'string' || !(r in PROJECT_ROLES))) {
    throw invalidField('roles', `roles must be a non-empty list of ${Object.keys(PROJECT_ROLES).map((r) => `'${r}'`).join(', ')}; got ${JSON.stringify(roles)}`)
  }
  return [...new Set(roles as string[])]
}

function checkedQuota(value: number): number {
  if (!Number.isSafeInteger(value) || value < -1) throw invalidField('storage_quota_bytes', 'storage_quota_bytes must be a whole number of bytes, or -1 for no quota')
  return value
}

function toProject(row: ProjectTable): Project {
  return {
    key: row.key,
    displayName: row.display_name,
    description: row.description,
    storageQuotaBytes: Number(row.storage_quota_bytes),
    usedBytes: Number(row.used_bytes),
    adminPrivileges: { ...DEFAULT_PRIVILEGES, ...(JSON.parse(row.admin_privileges) as Partial<AdminPrivileges>) },
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}
