import type { Kysely } from 'kysely'
import picomatch from 'picomatch'
import type { RepositoryConfigBody } from '../../api/repositories.js'
import { z } from 'zod'
import type { Database, RepositoryTable } from '../../metadata/schema.js'
import { TroveError, ValidationError, conflict, fieldPath, invalidField, notFound, schemaProblems } from '../errors.js'
import { assertRepositoryKey } from '../paths.js'
import { TRASHCAN_KEY } from '../lifecycle/trash.js'
import type { RepositorySetting } from './repository-settings.js'

export const REPOSITORY_CLASSES = ['local', 'remote', 'virtual', 'federated'] as const
export type RepositoryClass = (typeof REPOSITORY_CLASSES)[number]

/**
 * A repository's configuration in Artifactory's JSON shape (src/api/repositories.ts), as stored:
 * validated, with its patterns. Fields Trove does not know are kept as given and returned on GET,
 * so that tools which round-trip configurations lose nothing.
 */
export interface RepositoryConfig extends RepositoryConfigBody {
  readonly rclass: RepositoryClass
  readonly includesPattern: string
  readonly excludesPattern: string
}

export interface Repository {
  readonly key: string
  /**
   * `local`, `remote` or `virtual`. A federated repository is a local one to everything that stores
   * and serves it (`config.rclass` says `federated`; src/core/federation/ mirrors it).
   */
  readonly rclass: RepositoryClass
  readonly packageType: string
  readonly config: RepositoryConfig
  readonly createdAt: number
  readonly updatedAt: number
  /** True when the path is allowed by `includesPattern` and not refused by `excludesPattern`. */
  isPathAllowed(path: string): boolean
}

/** Which classes each package type supports; built from the registered formats. */
export type SupportedKinds = ReadonlyMap<string, readonly RepositoryClass[]>

const secs = z.number().int().nonnegative()
const KnownFields = z.object({
  key: z.string(),
  rclass: z.enum(REPOSITORY_CLASSES),
  packageType: z.string(),
  description: z.string().optional(),
  notes: z.string().optional(),
  includesPattern: z.string().optional(),
  excludesPattern: z.string().optional(),
  anonymousRead: z.boolean().optional(),
  url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  offline: z.boolean().optional(),
  retrievalCachePeriodSecs: secs.optional(),
  missedRetrievalCachePeriodSecs: secs.optional(),
  assumedOfflinePeriodSecs: secs.optional(),
  socketTimeoutMillis: z.number().int().positive().optional(),
  storeArtifactsLocally: z.boolean().optional(),
  /** Remote: cached files not downloaded for this many hours are evicted (0: never; docs/lifecycle.md). */
  unusedArtifactsCleanupPeriodHours: z.number().int().nonnegative().optional(),
  repositories: z.array(z.string()).optional(),
  defaultDeploymentRepo: z.string().optional(),
  /** Federated: the same-named repository on other Trove instances (`<base>/artifactory/<key>`). */
  members: z
    .array(z.object({ url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }), enabled: z.boolean().default(true) }).loose())
    .optional(),
})

/** Fields returned by GET but never accepted from a client. */
const SECRET_FIELDS = ['password'] as const

export class RepositoryService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly supported: SupportedKinds,
    private readonly options: {
      readonly checkUpstreamUrl?: (url: string) => void
      /** The settings each package type adds (`Format.settings`), validated on create and update. */
      readonly settings?: ReadonlyMap<string, readonly RepositorySetting[]>
    } = {},
  ) {}

  async list(filter: { rclass?: string | undefined; packageType?: string | undefined } = {}): Promise<Repository[]> {
    let query = this.db.selectFrom('repositories').selectAll().orderBy('key')
    if (filter.rclass) query = query.where('rclass', '=', filter.rclass.toLowerCase())
    if (filter.packageType) query = query.where('package_type', '=', filter.packageType.toLowerCase())
    return (await query.execute()).map(toRepository)
  }

  /**
   * One request reads its repository several times (the authorizer, then the handler), and under
   * load many requests for the same repository are handled in one turn of the event loop. Lookups
   * are shared within the turn that made them and forgotten at its end (setImmediate), so an
   * answer is never older than the turn that asked for it: nothing outlives a loop iteration, and
   * another node's change is seen as soon as by reading the database each time.
   */
  private lookups = new Map<string, Promise<Repository | undefined>>()

  get(key: string): Promise<Repository | undefined> {
    let lookup = this.lookups.get(key)
    if (lookup === undefined) {
      if (this.lookups.size === 0) setImmediate(() => this.lookups.clear())
      lookup = this.db
        .selectFrom('repositories')
        .selectAll()
        .where('key', '=', key)
        .executeTakeFirst()
        .then((row) => (row ? toRepository(row) : undefined))
      this.lookups.set(key, lookup)
    }
    return lookup
  }

  async require(key: string): Promise<Repository> {
    const repository = await this.get(key)
    if (!repository) throw notFound(`repository '${key}' does not exist`)
    return repository
  }

  /**
   * Where a write sent to `requested` lands: a local repository itself, a virtual's
   * `defaultDeploymentRepo`. A remote repository (a cache) and a virtual without a default refuse
   * with UNSUPPORTED, in words the client shows: `verb` is what the client does (`publish`,
   * `upload`, `push`, `deploy`), `title` the format's name for people (`npm`, `PyPI`). Whether the
   * caller may write there is the caller's check.
   */
  async deploymentTarget(requested: Repository, words: { readonly verb: string; readonly title?: string }): Promise<Repository> {
    if (requested.rclass === 'local') return requested
    const kind = words.title === undefined ? '' : `${words.title} `
    const instead = `${words.verb} to a local ${kind}repository`
    if (requested.rclass === 'remote') {
      throw new TroveError('UNSUPPORTED', `'${requested.key}' is a remote ${kind}repository (a cache): ${instead}`)
    }
    const key = requested.config.defaultDeploymentRepo
    if (!key) throw new TroveError('UNSUPPORTED', `virtual ${kind}repository '${requested.key}' has no defaultDeploymentRepo: ${instead}, or have an administrator set one`)
    const target = await this.get(key)
    if (!target || target.rclass !== 'local' || target.packageType !== requested.packageType) {
      throw new TroveError('UNSUPPORTED', `the defaultDeploymentRepo '${key}' of '${requested.key}' is not a local ${kind}repository: ${instead}`)
    }
    return target
  }

  /** Creates a repository (Artifactory's `PUT /api/repositories/{key}`). */
  async create(key: string, body: unknown): Promise<Repository> {
    const config = await this.validate(key, body, undefined)
    const now = Date.now()
    const row: RepositoryTable = {
      key,
      rclass: config.rclass,
      package_type: config.packageType,
      config: JSON.stringify(config),
      created_at: now,
      updated_at: now,
    }
    const result = await this.db
      .insertInto('repositories')
      .values(row)
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst()
      .finally(() => this.lookups.clear())
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw invalidField('key', `repository '${key}' already exists`, 'CONFLICT')
    return toRepository(row)
  }

  /**
   * Checks what {@link create} would check (key, configuration, upstream URL rules) and that the key
   * is free, creating nothing: a self-service request is held to the rules when it is made.
   */
  async check(key: string, body: unknown): Promise<void> {
    await this.validate(key, body, undefined)
    if (await this.get(key)) throw invalidField('key', `repository '${key}' already exists`, 'CONFLICT')
  }

  /** Updates a repository with the fields given (Artifactory's `POST`); key, class and type are fixed. */
  async update(key: string, body: unknown): Promise<Repository> {
    const existing = await this.require(key)
    if (!isObject(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
    for (const field of ['rclass', 'packageType'] as const) {
      if (body[field] !== undefined && String(body[field]).toLowerCase() !== existing.config[field]) {
        throw invalidField(field, `${field} cannot be changed (it is '${existing.config[field]}')`)
      }
    }
    // The body's key, if any, must match the URL's: validate() refuses a mismatch instead of ignoring it.
    const merged = { ...existing.config, ...body }
    const config = await this.validate(key, merged, existing)
    const now = Date.now()
    await this.db
      .updateTable('repositories')
      .set({ config: JSON.stringify(config), updated_at: now })
      .where('key', '=', key)
      .execute()
      .finally(() => this.lookups.clear())
    return toRepository({ key, rclass: config.rclass, package_type: config.packageType, config: JSON.stringify(config), created_at: existing.createdAt, updated_at: now })
  }

  /** Deletes a repository and everything in it. Its blobs are left to garbage collection. */
  async delete(key: string): Promise<void> {
    await this.require(key)
    const users = await this.db
      .selectFrom('repositories')
      .select('key')
      .where('rclass', '=', 'virtual')
      .execute()
    for (const { key: virtualKey } of users) {
      const virtual = await this.require(virtualKey)
      if (virtual.config.repositories?.includes(key)) {
        throw conflict(`repository '${key}' is a member of virtual repository '${virtualKey}'; remove it there first`)
      }
    }
    await this.db.transaction().execute(async (trx) => {
      // Children first: SQLite and PostgreSQL both cascade, but explicit deletes keep the order obvious.
      await trx.deleteFrom('properties').where('repo_key', '=', key).execute()
      await trx.deleteFrom('assets').where('repo_key', '=', key).execute()
      await trx.deleteFrom('folders').where('repo_key', '=', key).execute()
      await trx.deleteFrom('repository_grants').where('repo_key', '=', key).execute()
      await trx.deleteFrom('repositories').where('key', '=', key).execute()
    }).finally(() => this.lookups.clear())
  }

  private async validate(key: string, body: unknown, existing: Repository | undefined): Promise<RepositoryConfig> {
    assertRepositoryKey(key, 'key')
    if (!existing && key === TRASHCAN_KEY) throw invalidField('key', `'${TRASHCAN_KEY}' is the trash can's name`)
    if (!isObject(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
    const input: Record<string, unknown> = { ...body }
    if (input.key !== undefined && input.key !== key) {
      throw invalidField('key', `the key in the body ('${String(input.key)}') differs from the key in the URL ('${key}')`)
    }
    input.key = key
    if (typeof input.rclass === 'string') input.rclass = input.rclass.toLowerCase()
    if (typeof input.packageType === 'string') input.packageType = input.packageType.toLowerCase()
    const parsed = KnownFields.safeParse(input)
    if (!parsed.success) {
      const problems = schemaProblems(parsed.error.issues)
      throw new ValidationError(problems, { message: `invalid repository configuration: ${problems.map((p) => p.message).join('; ')}` })
    }
    const known = parsed.data
    const classes = this.supported.get(known.packageType)
    if (!classes) {
      throw invalidField('packageType', `packageType '${known.packageType}' is not supported (supported: ${[...this.supported.keys()].join(', ')})`)
    }
    // A federated repository is a local one, mirrored: every type with local repositories has them.
    if (!classes.includes(known.rclass === 'federated' ? 'local' : known.rclass)) {
      throw invalidField('rclass', `rclass '${known.rclass}' is not supported for packageType '${known.packageType}' (supported: ${classes.join(', ')})`)
    }
    for (const field of ['includesPattern', 'excludesPattern'] as const) {
      const value = known[field]
      if (value !== undefined && splitPatterns(value).some((p) => p.startsWith('/'))) {
        throw invalidField(field, `${field}: patterns are relative to the repository root (no leading '/')`)
      }
    }
    for (const setting of this.options.settings?.get(known.packageType) ?? []) {
      if (input[setting.name] === undefined) continue
      if (!setting.kinds.includes(known.rclass === 'federated' ? 'local' : known.rclass)) {
        throw invalidField(setting.name, `${setting.name}: applies only to ${setting.kinds.join(', ')} ${known.packageType} repositories`)
      }
      const checked = setting.schema.safeParse(input[setting.name])
      if (!checked.success) throw invalidField(setting.name, `${setting.name}: ${checked.error.issues[0]?.message ?? 'invalid value'}`)
      input[setting.name] = checked.data
    }
    if (known.rclass === 'remote' && !known.url) throw invalidField('url', 'url: a remote repository needs an upstream url')
    if (known.rclass === 'remote' && known.url) this.options.checkUpstreamUrl?.(known.url)
    if (known.rclass === 'virtual') await this.validateVirtual(key, known)
    if (known.members !== undefined && known.rclass !== 'federated') throw invalidField('members', 'members: only a federated repository has members')
    for (const [index, member] of (known.members ?? []).entries()) {
      const name = new URL(member.url).pathname.replace(/\/+$/, '').split('/').pop()
      if (name !== key) throw invalidField(fieldPath(['members', index, 'url']), `members: '${member.url}' must end with /artifactory/${key} (a member is the same-named repository on another instance)`)
    }
    if (known.members !== undefined) input.members = known.members
    const config: Record<string, unknown> = {
      ...input,
      includesPattern: known.includesPattern ?? '**/*',
      excludesPattern: known.excludesPattern ?? '',
    }
    // A stored upstream password is kept when an update leaves it out (GET never returns it).
    if (existing && config.password === undefined && existing.config.password !== undefined) {
      config.password = existing.config.password
    }
    return config as unknown as RepositoryConfig
  }

  private async validateVirtual(key: string, known: z.infer<typeof KnownFields>): Promise<void> {
    const members = known.repositories ?? []
    for (const [index, member] of members.entries()) {
      const field = fieldPath(['repositories', index])
      if (member === key) throw invalidField(field, 'repositories: a virtual repository cannot contain itself')
      const repository = await this.get(member)
      if (!repository) throw invalidField(field, `repositories: '${member}' does not exist`)
      if (repository.packageType !== known.packageType) {
        throw invalidField(field, `repositories: '${member}' is a ${repository.packageType} repository, not ${known.packageType}`)
      }
    }
    const target = known.defaultDeploymentRepo
    if (target !== undefined) {
      const repository = members.includes(target) ? await this.get(target) : undefined
      if (!repository || repository.rclass !== 'local') {
        throw invalidField('defaultDeploymentRepo', `defaultDeploymentRepo: '${target}' must be a local repository listed in repositories`)
      }
    }
  }
}

/** The configuration as returned to clients: secrets removed. */
export function publicConfig(config: RepositoryConfig): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...config }
  for (const field of SECRET_FIELDS) delete copy[field]
  return copy
}

function toRepository(row: RepositoryTable): Repository {
  const config = JSON.parse(row.config) as RepositoryConfig
  const { includes, excludes } = repositoryPatterns(config)
  const isIncluded = compiledPatterns(includes)
  const isExcluded = excludes.length > 0 ? compiledPatterns(excludes) : () => false
  return {
    key: row.key,
    rclass: row.rclass === 'federated' ? 'local' : (row.rclass as RepositoryClass),
    packageType: row.package_type,
    config,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    isPathAllowed: (path) => isIncluded(path) && !isExcluded(path),
  }
}

/** A repository's `includesPattern` and `excludesPattern` as lists (everything, `**\/*`, when no include is set). */
export function repositoryPatterns(config: RepositoryConfig): { includes: string[]; excludes: string[] } {
  return { includes: splitPatterns(config.includesPattern || '**/*'), excludes: splitPatterns(config.excludesPattern) }
}

/**
 * Repositories are read on every request; compiling their patterns each time showed in profiles.
 * Compiled matchers depend only on the pattern text, so they are shared (bounded, cleared when full).
 */
const MATCHER_CACHE_LIMIT = 1000
const matcherCache = new Map<string, (path: string) => boolean>()

function compiledPatterns(patterns: readonly string[]): (path: string) => boolean {
  const key = patterns.join('\0')
  let matcher = matcherCache.get(key)
  if (!matcher) {
    if (matcherCache.size >= MATCHER_CACHE_LIMIT) matcherCache.clear()
    matcher = picomatch([...patterns], { dot: true })
    matcherCache.set(key, matcher)
  }
  return matcher
}

function splitPatterns(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
