import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { TroveError, notFound } from '../errors.js'
import { ACTIONS, type Action, type Principal } from './principal.js'
import type { AccessSettings } from './access-settings.js'
import type { GroupService } from './groups.js'
import { EVERYWHERE, NOWHERE, allOf, anyOf, type PathAccess } from './path-access.js'
import type { PermissionTargetService, TargetRepository, TargetRule } from './permission-targets.js'
import { PROJECT_ADMIN, projectKeyPrefix, roleActions, type AdminPrivileges, type Project, type ProjectService } from './projects.js'
import { scopeAllows, scopePathAccess } from './registry-tokens.js'
import { USER_SCOPE, type AppliedPermissions } from './token-service.js'

/**
 * The one question every request asks: may this principal do ACTION on REPO/PATH? Extensions
 * (projects, permission targets) add rules here; routes never decide access themselves.
 */
export interface Authorizer {
  /**
   * Whether the principal may do `action` on the file at `path` of a repository; without a path,
   * whether it may do it somewhere in the repository (path patterns not applied).
   */
  can(principal: Principal, action: Action, repoKey: string, path?: string): Promise<boolean>
  /**
   * Which paths of a repository the principal may do `action` on, for questions about many paths
   * at once (a folder's children, search hits) and about folders (what may be browsed).
   * `can(…, path)` is `pathAccess(…).file(path)`.
   */
  pathAccess(principal: Principal, action: Action, repoKey: string): Promise<PathAccess>
  /** Repository keys the principal may read; used to filter listings and searches. */
  readableRepositories(principal: Principal, candidates: readonly string[]): Promise<Set<string>>
  /** Whether the principal is a system admin, or a Project Admin of `projectKey` holding `privilege`. */
  administersProject(principal: Principal, projectKey: string, privilege: keyof AdminPrivileges): Promise<boolean>
}

export interface RepositoryAccessFacts {
  /** Whether the repository lets anonymous callers read it. */
  isAnonymousReadable(repoKey: string): Promise<boolean>
  /** The repository's class and project; `undefined` when it does not exist. */
  describe?(repoKey: string): Promise<{ readonly rclass: string; readonly projectKey: string | undefined } | undefined>
}

/** The rules beyond per-repository grants (issue #7); without them only grants apply. */
export interface AccessRules {
  readonly projects: ProjectService
  readonly groups: GroupService
  readonly targets: PermissionTargetService
  readonly settings: AccessSettings
}

type Facts = TargetRepository & { readonly exists: boolean }

const BUT_MANAGE: ReadonlySet<Action> = new Set(ACTIONS.filter((a) => a !== 'manage'))

/** What one source of rights gives on a repository: actions on every path, and actions on the paths of permission targets. */
interface Rights {
  readonly everywhere: ReadonlySet<Action>
  readonly targets: readonly TargetRule[]
}

/**
 * Admins may do everything; anonymous callers only read, and only where the repository allows
 * anonymous read; users what they are granted now, from every source: per-repository grants,
 * permission targets (for them or their groups), project roles (theirs or their groups'), read on
 * repositories shared with their projects or with all, read on remote repositories outside projects
 * (a global setting). An access token's scope keeps only some of these sources, and a registry
 * token's scope narrows the result further: a token never grants more than its owner has now,
 * because the owner's rights are looked up on every request.
 */
export class GrantAuthorizer implements Authorizer {
  private readonly turn = new TurnCache()

  constructor(
    private readonly db: Kysely<Database>,
    private readonly facts: RepositoryAccessFacts,
    private readonly rules?: AccessRules,
  ) {}

  async can(principal: Principal, action: Action, repoKey: string, path?: string): Promise<boolean> {
    // A registry token narrows its user's rights, an admin's included.
    if (principal.kind === 'user' && principal.scope && !scopeAllows(principal.scope, action, repoKey, path)) return false
    const access = await this.ownerAccess(principal, action, repoKey)
    return path === undefined ? !access.isNowhere : access.file(path)
  }

  async pathAccess(principal: Principal, action: Action, repoKey: string): Promise<PathAccess> {
    const access = await this.ownerAccess(principal, action, repoKey)
    if (principal.kind !== 'user' || !principal.scope) return access
    return allOf([access, scopePathAccess(principal.scope, action, repoKey)])
  }

  /** The paths the principal's own rights (through an access token's scope, if any) allow; a registry token's scope comes on top. */
  private async ownerAccess(principal: Principal, action: Action, repoKey: string): Promise<PathAccess> {
    if (principal.kind === 'user' && principal.isAdmin) return EVERYWHERE
    if (action === 'read' && (await this.facts.isAnonymousReadable(repoKey))) return EVERYWHERE
    if (principal.kind === 'anonymous') return NOWHERE
    if (!this.rules) return (await this.grantActions(principal.name, repoKey)).has(action) ? EVERYWHERE : NOWHERE
    const repository = await this.repositoryFacts(repoKey)
    if (!repository) return NOWHERE
    const byTargets: PathAccess[] = []
    for (const applied of (principal.tokenScope ?? USER_SCOPE).applied) {
      const rights = await this.rightsUnder(applied, principal.name, repository)
      if (rights.everywhere.has(action)) return EVERYWHERE
      for (const rule of rights.targets) if (rule.actions.has(action)) byTargets.push(rule.paths)
    }
    return anyOf(byTargets)
  }

  async readableRepositories(principal: Principal, candidates: readonly string[]): Promise<Set<string>> {
    const readable = new Set<string>()
    for (const key of candidates) if (await this.can(principal, 'read', key)) readable.add(key)
    return readable
  }

  async administersProject(principal: Principal, projectKey: string, privilege: keyof AdminPrivileges): Promise<boolean> {
    if (principal.kind !== 'user' || principal.scope) return false
    if (principal.isAdmin) return true
    if (!this.rules) return false
    const project = await this.project(projectKey)
    if (!project || !project.adminPrivileges[privilege]) return false
    for (const applied of (principal.tokenScope ?? USER_SCOPE).applied) {
      if (applied.kind === 'roles' && (applied.project !== projectKey || !applied.roles.includes(PROJECT_ADMIN))) continue
      const groups = applied.kind === 'groups' ? await this.groupsWithin(principal.name, applied.groups) : await this.groupsOf(principal.name)
      const roles = await this.rolesOf(applied.kind === 'groups' ? undefined : principal.name, groups)
      if (roles.get(projectKey)?.has(PROJECT_ADMIN)) return true
    }
    return false
  }

  /** What one `applied-permissions` entry of a token (or a session) allows on a repository. */
  private async rightsUnder(applied: AppliedPermissions, user: string, repository: Facts): Promise<Rights> {
    switch (applied.kind) {
      case 'user':
      case 'admin':
        return this.rightsOf(user, await this.groupsOf(user), repository)
      case 'groups':
        return this.rightsOf(undefined, await this.groupsWithin(user, applied.groups), repository)
      case 'roles': {
        const own = await this.rightsOf(user, await this.groupsOf(user), repository)
        let ceiling: Set<Action>
        if (repository.projectKey === applied.project) ceiling = roleActions(applied.roles)
        else ceiling = repository.exists && (await this.isSharedWith(repository.key, new Set([applied.project]))) ? new Set(['read']) : new Set()
        return limitRights(own, ceiling)
      }
    }
  }

  /** Every right `user` (when given: grants and targets naming the user) and `groups` get on a repository. */
  private async rightsOf(user: string | undefined, groups: readonly string[], repository: Facts): Promise<Rights> {
    const rules = this.rules!
    const granted = repository.exists && user !== undefined ? await this.grantActions(user, repository.key) : new Set<Action>()
    const targets = repository.exists ? await rules.targets.rulesFor(user, groups, repository) : []
    // `manage` (changing a repository's configuration) comes from being a system admin or a Project
    // Admin only; in grants and permission targets it is Artifactory's "manage this permission",
    // which lets no one reconfigure or delete a repository.
    const direct = limitRights({ everywhere: granted, targets }, BUT_MANAGE)
    const actions = new Set(direct.everywhere)
    const roles = await this.rolesOf(user, groups)
    if (repository.projectKey !== undefined) {
      const project = await this.project(repository.projectKey)
      const granted = roleActions(roles.get(repository.projectKey) ?? [])
      // A Project Admin manages the project's repositories only when the project's admin privileges say so.
      if (project && !project.adminPrivileges.manageResources) granted.delete('manage')
      for (const a of granted) actions.add(a)
      if (repository.exists && !actions.has('read') && (await this.isSharedWith(repository.key, new Set(roles.keys())))) actions.add('read')
    } else if (repository.rclass === 'remote' && repository.exists && (await rules.settings.get()).remoteReadableByAuthenticated) {
      actions.add('read')
    }
    return { everywhere: actions, targets: direct.targets }
  }

  /** Shared with everyone, or with one of `projects`. */
  private async isSharedWith(repoKey: string, projects: ReadonlySet<string>): Promise<boolean> {
    const shares = await this.turn.get(`shares\0${repoKey}`, () => this.rules!.projects.shares(repoKey))
    return shares.withAll || shares.projects.some((p) => projects.has(p))
  }

  private async repositoryFacts(repoKey: string): Promise<Facts | undefined> {
    const described = await this.facts.describe?.(repoKey)
    if (described) return { key: repoKey, rclass: described.rclass, projectKey: described.projectKey, exists: true }
    // A repository that does not exist yet: creating it (manage) is decided by the project its key names.
    const prefix = projectKeyPrefix(repoKey)
    if (prefix === undefined || !(await this.project(prefix))) return undefined
    return { key: repoKey, rclass: 'local', projectKey: prefix, exists: false }
  }

  private grantActions(user: string, repoKey: string): Promise<Set<Action>> {
    return this.turn.get(`grant\0${user}\0${repoKey}`, async () => {
      const grant = await this.db
        .selectFrom('repository_grants')
        .select('actions')
        .where('repo_key', '=', repoKey)
        .where('user_name', '=', user)
        .executeTakeFirst()
      return new Set(grant ? parseActions(grant.actions) : [])
    })
  }

  private groupsOf(user: string): Promise<string[]> {
    return this.turn.get(`groups\0${user}`, () => this.rules!.groups.groupsOf(user))
  }

  /** The token's groups the owner is still a member of. */
  private async groupsWithin(user: string, named: readonly string[]): Promise<string[]> {
    const current = await this.groupsOf(user)
    return named.filter((g) => current.includes(g))
  }

  private rolesOf(user: string | undefined, groups: readonly string[]): Promise<Map<string, Set<string>>> {
    return this.turn.get(`roles\0${user ?? ''}\0${groups.join('\0')}`, () => this.rules!.projects.rolesOf(user, groups))
  }

  private project(key: string): Promise<Project | undefined> {
    return this.turn.get(`project\0${key}`, () => this.rules!.projects.get(key))
  }
}

/**
 * Lookups shared by the requests of one event-loop turn and forgotten at its end (as
 * RepositoryService.get does): a change made by any node is seen by the next turn.
 */
class TurnCache {
  private entries = new Map<string, Promise<unknown>>()

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key) as Promise<T> | undefined
    if (entry === undefined) {
      if (this.entries.size === 0) setImmediate(() => this.entries.clear())
      entry = load()
      this.entries.set(key, entry)
    }
    return entry
  }
}

/** Per-repository grants for users, managed by admins (`/api/v1/repositories/{key}/grants`). */
export class GrantService {
  constructor(private readonly db: Kysely<Database>) {}

  async list(repoKey: string): Promise<{ user: string; actions: Action[] }[]> {
    const rows = await this.db.selectFrom('repository_grants').selectAll().where('repo_key', '=', repoKey).orderBy('user_name').execute()
    return rows.map((r) => ({ user: r.user_name, actions: parseActions(r.actions) }))
  }

  async set(repoKey: string, user: string, actions: readonly string[]): Promise<void> {
    const unknown = actions.filter((a) => !(ACTIONS as readonly string[]).includes(a))
    if (unknown.length > 0 || actions.length === 0) {
      throw new TroveError('BAD_REQUEST', `actions must be a non-empty list of ${ACTIONS.join(', ')}; got ${JSON.stringify(actions)}`)
    }
    const value = [...new Set(actions)].join(',')
    await this.db
      .insertInto('repository_grants')
      .values({ repo_key: repoKey, user_name: user, actions: value })
      .onConflict((oc) => oc.columns(['repo_key', 'user_name']).doUpdateSet({ actions: value }))
      .execute()
  }

  async remove(repoKey: string, user: string): Promise<void> {
    const result = await this.db
      .deleteFrom('repository_grants')
      .where('repo_key', '=', repoKey)
      .where('user_name', '=', user)
      .executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`user '${user}' has no grant on '${repoKey}'`)
  }
}

/** `rights` with only the actions in `ceiling`. */
function limitRights(rights: Rights, ceiling: ReadonlySet<Action>): Rights {
  const keep = (actions: Iterable<Action>) => new Set([...actions].filter((a) => ceiling.has(a)))
  return {
    everywhere: keep(rights.everywhere),
    targets: rights.targets.map((rule) => ({ actions: keep(rule.actions), paths: rule.paths })).filter((rule) => rule.actions.size > 0),
  }
}

function parseActions(text: string): Action[] {
  return text.split(',').filter((a): a is Action => (ACTIONS as readonly string[]).includes(a))
}
