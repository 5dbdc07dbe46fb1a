import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { TroveError, notFound } from '../errors.js'
import { ACTIONS, type Action, type Principal } from './principal.js'
import { scopeAllows } from './registry-tokens.js'

/**
 * The one question every request asks: may this principal do ACTION on REPO/PATH? Extensions
 * (projects, permission targets) add rules here; routes never decide access themselves.
 */
export interface Authorizer {
  can(principal: Principal, action: Action, repoKey: string, path?: string): Promise<boolean>
  /** Repository keys the principal may read; used to filter listings and searches. */
  readableRepositories(principal: Principal, candidates: readonly string[]): Promise<Set<string>>
}

export interface RepositoryAccessFacts {
  /** Whether the repository lets anonymous callers read it. */
  isAnonymousReadable(repoKey: string): Promise<boolean>
}

/**
 * Admins may do everything; users what an admin granted them per repository; anonymous callers
 * only read, and only where the repository allows anonymous read.
 */
export class GrantAuthorizer implements Authorizer {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly facts: RepositoryAccessFacts,
  ) {}

  async can(principal: Principal, action: Action, repoKey: string, path?: string): Promise<boolean> {
    // A registry token narrows its user's rights, an admin's included.
    if (principal.kind === 'user' && principal.scope && !scopeAllows(principal.scope, action, repoKey, path)) return false
    if (principal.kind === 'user' && principal.isAdmin) return true
    if (action === 'read' && (await this.facts.isAnonymousReadable(repoKey))) return true
    if (principal.kind === 'anonymous') return false
    const grant = await this.db
      .selectFrom('repository_grants')
      .select('actions')
      .where('repo_key', '=', repoKey)
      .where('user_name', '=', principal.name)
      .executeTakeFirst()
    return grant !== undefined && parseActions(grant.actions).includes(action)
  }

  async readableRepositories(principal: Principal, candidates: readonly string[]): Promise<Set<string>> {
    const readable = new Set<string>()
    for (const key of candidates) if (await this.can(principal, 'read', key)) readable.add(key)
    return readable
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

function parseActions(text: string): Action[] {
  return text.split(',').filter((a): a is Action => (ACTIONS as readonly string[]).includes(a))
}
