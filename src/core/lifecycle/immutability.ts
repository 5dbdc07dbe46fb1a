import type { Kysely } from 'kysely'
import picomatch from 'picomatch'
import { z } from 'zod'
import type { ImmutabilityRuleBody } from '../../api/lifecycle-policies.js'
import type { Database } from '../../metadata/schema.js'
import type { ImmutabilityRuleTable } from '../../metadata/lifecycle-policies-schema.js'
import { TroveError, ValidationError, schemaProblems } from '../errors.js'
import type { Repository } from '../repositories/repository-service.js'
import type { PackageVersions } from './policies-versions.js'

export type ImmutabilityRule = ImmutabilityRuleBody

/** A file a change would remove or replace with other content. */
export interface TouchedFile {
  readonly path: string
}

const KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/
const RuleFields = z
  .object({
    key: z.string().optional(),
    repositories: z.array(z.string().min(1).max(64)).min(1).max(1000),
    packages: z.string().min(1).max(256).default('**'),
    versions: z.string().min(1).max(256),
    enabled: z.boolean().default(true),
  })
  .strict()

/**
 * Immutability rules (Harbor's): a version (tag) matching a rule cannot be overwritten or deleted,
 * by anyone, by any path (its protocol, the REST API, a cleanup policy); an admin lifts the rule
 * first (disables or deletes it). `ArtifactService` asks {@link check} in every change's
 * transaction; the format says which version a file belongs to (`PackageVersions.versionOf`).
 */
export class ImmutabilityRules {
  private readonly versions = new Map<string, PackageVersions>()

  constructor(private readonly db: Kysely<Database>) {}

  /** Tells the rules how a package type's files map to versions (the formats' lifecycle hooks). */
  useVersions(packageType: string, versions: PackageVersions): void {
    this.versions.set(packageType, versions)
  }

  validate(key: string, body: unknown, user: string, existing?: ImmutabilityRule): ImmutabilityRule {
    const parsed = RuleFields.safeParse(body)
    if (!parsed.success) throw new ValidationError(schemaProblems(parsed.error.issues))
    if (!KEY.test(key)) throw new ValidationError([{ field: 'key', message: `rule key '${key}' must be 1-64 of a-z 0-9 . _ - starting with a letter or digit` }])
    if (parsed.data.key !== undefined && parsed.data.key !== key) throw new ValidationError([{ field: 'key', message: `the body names rule '${parsed.data.key}', the URL '${key}'` }])
    const now = Date.now()
    const { key: _key, ...fields } = parsed.data
    return { key, ...fields, createdBy: existing?.createdBy ?? user, createdAt: existing?.createdAt ?? now, updatedAt: now }
  }

  async list(): Promise<ImmutabilityRule[]> {
    return (await this.db.selectFrom('immutability_rules').selectAll().orderBy('key').execute()).map(toRule)
  }

  async get(key: string): Promise<ImmutabilityRule | undefined> {
    const row = await this.db.selectFrom('immutability_rules').selectAll().where('key', '=', key).executeTakeFirst()
    return row && toRule(row)
  }

  async put(rule: ImmutabilityRule): Promise<boolean> {
    const row: ImmutabilityRuleTable = {
      key: rule.key,
      repositories: JSON.stringify(rule.repositories),
      packages: rule.packages,
      versions: rule.versions,
      enabled: rule.enabled ? 1 : 0,
      created_by: rule.createdBy,
      created_at: rule.createdAt,
      updated_at: rule.updatedAt,
    }
    const updated = await this.db.updateTable('immutability_rules').set(row).where('key', '=', rule.key).executeTakeFirst()
    if (Number(updated.numUpdatedRows) === 1) return false
    await this.db.insertInto('immutability_rules').values(row).execute()
    return true
  }

  async delete(key: string): Promise<boolean> {
    return Number((await this.db.deleteFrom('immutability_rules').where('key', '=', key).executeTakeFirst()).numDeletedRows) === 1
  }

  /**
   * A test of (package, version) against the enabled rules of a repository, or `undefined` when
   * none applies to it (the common case: one indexed read, nothing more to do).
   */
  async matcher(repository: Repository, db: Kysely<Database> = this.db): Promise<((pkg: string, version: string) => ImmutabilityRule | undefined) | undefined> {
    const rows = await db.selectFrom('immutability_rules').selectAll().where('enabled', '=', 1).execute()
    const rules = rows.map(toRule).filter((r) => r.repositories.includes('*') || r.repositories.includes(repository.key))
    if (rules.length === 0) return undefined
    const tests = rules.map((rule) => ({ rule, pkg: picomatch(rule.packages, { dot: true }), version: picomatch(rule.versions, { dot: true }) }))
    return (pkg, version) => tests.find((t) => t.pkg(pkg) && t.version(version))?.rule
  }

  /**
   * Refuses (DENIED, changing nothing) a change that would remove or overwrite a file of an
   * immutable version. `touched` is asked only when a rule applies to the repository; it runs in
   * the change's transaction (`db`), so what it reads is what the change changes.
   */
  async check(repository: Repository, db: Kysely<Database>, touched: () => Promise<readonly TouchedFile[]>): Promise<void> {
    const versions = this.versions.get(repository.packageType)
    if (!versions) return
    const match = await this.matcher(repository, db)
    if (!match) return
    for (const file of await touched()) {
      const version = versions.versionOf(file.path)
      const rule = version && match(version.package, version.version)
      if (rule) {
        throw new TroveError(
          'DENIED',
          `'${version.package}' version '${version.version}' in '${repository.key}' is immutable (rule '${rule.key}'): it cannot be overwritten or deleted until an administrator lifts the rule`,
          { rule: rule.key, package: version.package, version: version.version },
        )
      }
    }
  }
}

function toRule(row: ImmutabilityRuleTable): ImmutabilityRule {
  return {
    key: row.key,
    repositories: JSON.parse(row.repositories) as string[],
    packages: row.packages,
    versions: row.versions,
    enabled: Number(row.enabled) === 1,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}
