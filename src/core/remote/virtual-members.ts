import type { Repository, RepositoryService } from '../repositories/repository-service.js'

/** The per-virtual switch of the dependency-confusion guard (on unless set to `false`). */
export const CONFUSION_GUARD_FIELD = 'dependencyConfusionGuard'

export interface MemberQuery {
  /** Members of another package type are ignored. */
  readonly packageType: string
  /** Whether a local repository holds the package or project the caller asks for. */
  readonly isLocalName: (local: Repository) => Promise<boolean>
  /** Whether the caller may read a member; members it may not read are skipped. */
  readonly canRead?: ((repoKey: string) => Promise<boolean>) | undefined
  /** Repositories already visited on the way here (nested virtuals). */
  readonly seen: ReadonlySet<string>
  /** An enclosing virtual's guard already excluded remote members. */
  readonly noRemotes: boolean
}

/**
 * The members of a virtual repository to consult for one name, in the listed order, with the
 * dependency-confusion guard: when a local member (readable by the caller or not: a private name
 * must never be answered with a public package) has the name, no remote member is consulted,
 * here or in virtuals nested inside (`isGuarded` tells the caller to pass that down).
 */
export async function virtualMembers(
  repositories: RepositoryService,
  virtual: Repository,
  query: MemberQuery,
): Promise<{ members: Repository[]; isGuarded: boolean }> {
  const members: Repository[] = []
  for (const key of virtual.config.repositories ?? []) {
    if (query.seen.has(key)) continue
    const member = await repositories.get(key)
    if (member && member.packageType === query.packageType) members.push(member)
  }
  const isGuarded =
    query.noRemotes || (virtual.config[CONFUSION_GUARD_FIELD] !== false && (await hasLocally(repositories, virtual, query, new Set())))
  const readable: Repository[] = []
  for (const member of members) {
    if (isGuarded && member.rclass === 'remote') continue
    if (query.canRead && !(await query.canRead(member.key))) continue
    readable.push(member)
  }
  return { members: readable, isGuarded }
}

/** Whether a local repository of this virtual (or of a virtual inside it) has the name. */
async function hasLocally(repositories: RepositoryService, virtual: Repository, query: MemberQuery, seen: Set<string>): Promise<boolean> {
  seen.add(virtual.key)
  for (const key of virtual.config.repositories ?? []) {
    if (seen.has(key)) continue
    seen.add(key)
    const member = await repositories.get(key)
    if (!member || member.packageType !== query.packageType) continue
    if (member.rclass === 'local' && (await query.isLocalName(member))) return true
    if (member.rclass === 'virtual' && (await hasLocally(repositories, member, query, seen))) return true
  }
  return false
}
