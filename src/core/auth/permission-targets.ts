import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { TroveError, invalidField, notFound } from '../errors.js'
import { patternAccess, type PathAccess } from './path-access.js'
import type { Action } from './principal.js'
import { assertUserName } from './user-service.js'

/**
 * A permission target (Artifactory's v2 shape, the `repo` section): actions on repositories for
 * users and groups, limited to paths matching the include patterns and none of the exclude ones.
 */
export interface PermissionTarget {
  readonly name: string
  readonly repositories: readonly string[]
  readonly includePatterns: readonly string[]
  readonly excludePatterns: readonly string[]
  readonly users: Readonly<Record<string, readonly Action[]>>
  readonly groups: Readonly<Record<string, readonly Action[]>>
}

/** Pseudo repository names: every repository outside projects, or every local / remote one. */
const ANY = ['ANY', 'ANY LOCAL', 'ANY REMOTE'] as const

/** Artifactory's action words → Trove's; `write` is deploy. */
const ACTION_WORDS: Readonly<Record<string, Action | null>> = {
  read: 'read',
  annotate: 'annotate',
  write: 'deploy',
  deploy: 'deploy',
  delete: 'delete',
  manage: 'manage',
  // Accepted for Artifactory tools; Trove has nothing they would allow.
  managedXrayMeta: null,
  distribute: null,
}

interface Compiled {
  readonly target: PermissionTarget
  readonly paths: PathAccess
}

/** What one target gives a user (directly or through groups) on a repository: actions, on the paths its patterns allow. */
export interface TargetRule {
  readonly actions: ReadonlySet<Action>
  readonly paths: PathAccess
}

/** Facts about a repository a target's pseudo names need. */
export interface TargetRepository {
  readonly key: string
  readonly rclass: string
  readonly projectKey: string | undefined
}

export class PermissionTargetService {
  /** Every target, compiled; loaded at most once per event-loop turn (see RepositoryService.get). */
  private loaded: Promise<Compiled[]> | undefined
  /** Compiled patterns by their text, kept across loads: targets are reloaded every turn, their patterns rarely change (RepositoryService keeps its compiled patterns for the same reason). */
  private readonly pathRules = new Map<string, PathAccess>()

  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<PermissionTarget[]> {
    return (await this.compiled()).map((c) => c.target)
  }

  async get(name: string): Promise<PermissionTarget | undefined> {
    return (await this.compiled()).find((c) => c.target.name === name)?.target
  }

  async require(name: string): Promise<PermissionTarget> {
    const target = await this.get(name)
    if (!target) throw notFound(`permission target '${name}' does not exist`)
    return target
  }

  /**
   * Creates (`mode: 'create'`, CONFLICT when it exists) or replaces (`'replace'`, NOT_FOUND when
   * it does not) a target from Artifactory's v2 JSON. Users and groups named must exist.
   */
  async put(name: string, body: unknown, mode: 'create' | 'replace', exists: { users(names: string[]): Promise<void>; groups(names: string[]): Promise<void> }): Promise<PermissionTarget> {
    assertUserName(name)
    const target = parseTarget(name, body)
    await exists.users(Object.keys(target.users))
    await exists.groups(Object.keys(target.groups))
    const now = Date.now()
    const config = JSON.stringify(target)
    this.loaded = undefined
    if (mode === 'create') {
      const result = await this.db
        .insertInto('permission_targets')
        .values({ name, config, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst()
      if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw new TroveError('CONFLICT', `permission target '${name}' already exists`)
    } else {
      const result = await this.db.updateTable('permission_targets').set({ config, updated_at: now }).where('name', '=', name).executeTakeFirst()
      if (Number(result.numUpdatedRows) === 0) throw notFound(`permission target '${name}' does not exist`)
    }
    this.loaded = undefined
    return target
  }

  async delete(name: string): Promise<void> {
    this.loaded = undefined
    const result = await this.db.deleteFrom('permission_targets').where('name', '=', name).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`permission target '${name}' does not exist`)
  }

  /**
   * What the targets covering a repository give `user` (when given: targets naming the user) and
   * `groups`, one rule per target that gives anything, with the paths its patterns allow.
   * The pseudo names `ANY…` cover repositories outside projects only: a project decides its own.
   */
  async rulesFor(user: string | undefined, groups: readonly string[], repository: TargetRepository): Promise<TargetRule[]> {
    const rules: TargetRule[] = []
    for (const { target, paths } of await this.compiled()) {
      if (!covers(target, repository)) continue
      const actions = new Set<Action>()
      if (user !== undefined) for (const a of target.users[user] ?? []) actions.add(a)
      for (const group of groups) for (const a of target.groups[group] ?? []) actions.add(a)
      if (actions.size > 0) rules.push({ actions, paths })
    }
    return rules
  }

  private compiled(): Promise<Compiled[]> {
    if (!this.loaded) {
      setImmediate(() => (this.loaded = undefined))
      this.loaded = this.db
        .selectFrom('permission_targets')
        .select('config')
        .orderBy('name')
        .execute()
        .then((rows) =>
          rows.map((r) => {
            const target = JSON.parse(r.config) as PermissionTarget
            return { target, paths: this.pathRule(target) }
          }),
        )
    }
    return this.loaded
  }

  private pathRule(target: PermissionTarget): PathAccess {
    const key = JSON.stringify([target.includePatterns, target.excludePatterns])
    let paths = this.pathRules.get(key)
    if (!paths) {
      if (this.pathRules.size >= PATH_RULES_LIMIT) this.pathRules.clear()
      paths = patternAccess(target.includePatterns, target.excludePatterns)
      this.pathRules.set(key, paths)
    }
    return paths
  }
}

const PATH_RULES_LIMIT = 1000

/** Artifactory's v2 JSON for a target. */
export function targetBody(target: PermissionTarget) {
  const words = (actions: readonly Action[]) => actions.map((a) => (a === 'deploy' ? 'write' : a))
  return {
    name: target.name,
    repo: {
      'include-patterns': target.includePatterns,
      'exclude-patterns': target.excludePatterns,
      repositories: target.repositories,
      actions: {
        users: Object.fromEntries(Object.entries(target.users).map(([k, v]) => [k, words(v)])),
        groups: Object.fromEntries(Object.entries(target.groups).map(([k, v]) => [k, words(v)])),
      },
    },
  }
}

function covers(target: PermissionTarget, repository: TargetRepository): boolean {
  if (target.repositories.includes(repository.key)) return true
  if (repository.projectKey !== undefined) return false
  return (
    target.repositories.includes('ANY') ||
    (target.repositories.includes('ANY LOCAL') && repository.rclass === 'local') ||
    (target.repositories.includes('ANY REMOTE') && repository.rclass === 'remote')
  )
}

function parseTarget(name: string, body: unknown): PermissionTarget {
  if (!isObject(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
  if (body.name !== undefined && body.name !== name) throw invalidField('name', `the name in the body ('${String(body.name)}') differs from the name in the URL ('${name}')`)
  const repo = body.repo
  if (!isObject(repo)) throw invalidField('repo', 'repo: a permission target needs a "repo" section (build and release bundle sections are not supported)')
  const repositories = stringList(repo.repositories, 'repo.repositories')
  if (repositories.length === 0) throw invalidField('repo.repositories', `repo.repositories: name at least one repository (or ${ANY.join(', ')})`)
  const patterns = (hyphen: string, underscore: string, fallback: string[]) => {
    const value = repo[hyphen] ?? repo[underscore]
    const list = value === undefined ? fallback : stringList(value, `repo.${hyphen}`).filter((p) => p !== '')
    for (const p of list) if (p.startsWith('/')) throw invalidField(`repo.${hyphen}`, `repo.${hyphen}: patterns are relative to the repository root (no leading '/'): '${p}'`)
    return list
  }
  const actions = repo.actions === undefined ? {} : repo.actions
  if (!isObject(actions)) throw invalidField('repo.actions', 'repo.actions must be an object {"users": {…}, "groups": {…}}')
  return {
    name,
    repositories,
    includePatterns: patterns('include-patterns', 'include_patterns', ['**']),
    excludePatterns: patterns('exclude-patterns', 'exclude_patterns', []),
    users: principalActions(actions.users, 'repo.actions.users'),
    groups: principalActions(actions.groups, 'repo.actions.groups'),
  }
}

function principalActions(value: unknown, field: string): Record<string, Action[]> {
  if (value === undefined) return {}
  if (!isObject(value)) throw invalidField(field, `${field} must be an object {"<name>": ["read", …]}`)
  const result: Record<string, Action[]> = {}
  for (const [name, words] of Object.entries(value)) {
    const list = stringList(words, `${field}.${name}`)
    const unknown = list.filter((w) => !(w in ACTION_WORDS))
    if (unknown.length > 0) throw invalidField(`${field}.${name}`, `${field}.${name}: unknown action ${unknown.map((u) => `'${u}'`).join(', ')} (known: read, annotate, write, delete, manage)`)
    result[name] = [...new Set(list.map((w) => ACTION_WORDS[w]).filter((a): a is Action => a !== null && a !== undefined))]
  }
  return result
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidField(field, `${field} must be a list of strings`)
  return value as string[]
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
