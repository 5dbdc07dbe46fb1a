import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import { invalidField, notFound } from '../errors.js'
import type { GroupService } from '../auth/groups.js'
import type { Principal } from '../auth/principal.js'

export type ReviewerKind = 'user' | 'group'

export interface ReviewerGrant {
  readonly kind: ReviewerKind
  readonly name: string
  /** Null: every project and repository. */
  readonly project: string | null
  readonly grantedBy: string
  readonly grantedAt: number
}

const GLOBAL = ''

/**
 * The security-reviewer role (docs/operations.md): reads scan reports, findings, SBOMs, summaries
 * and policies, and the vulnerability database, of every repository (a global grant, to users or
 * groups, SSO group claims included) or of one project (granted by its Project Admins). It gives no
 * repository permission: downloading or listing artifacts stays with the authorizer, which does
 * not know this role.
 */
export class SecurityReviewers {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly groups: GroupService,
  ) {}

  async grant(kind: string, name: string, project: string | null, by: string): Promise<ReviewerGrant> {
    if (kind !== 'user' && kind !== 'group') throw invalidField('kind', 'kind must be users or groups')
    if (name === '' || name.length > 256) throw invalidField('name', 'name must be 1 to 256 characters')
    const row = { principal_kind: kind, principal_name: name, project: project ?? GLOBAL, granted_by: by, granted_at: Date.now() }
    await this.db
      .insertInto('security_reviewers')
      .values(row)
      .onConflict((oc) => oc.columns(['principal_kind', 'principal_name', 'project']).doUpdateSet({ granted_by: by, granted_at: row.granted_at }))
      .execute()
    return toGrant(row)
  }

  async revoke(kind: string, name: string, project: string | null): Promise<void> {
    const result = await this.db
      .deleteFrom('security_reviewers')
      .where('principal_kind', '=', kind)
      .where('principal_name', '=', name)
      .where('project', '=', project ?? GLOBAL)
      .executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw notFound(`${kind} '${name}' is not a security reviewer${project ? ` of project '${project}'` : ''}`)
  }

  /** Global grants (`project` null), one project's, or all. */
  async list(project: string | null | 'all'): Promise<ReviewerGrant[]> {
    let select = this.db.selectFrom('security_reviewers').selectAll()
    if (project !== 'all') select = select.where('project', '=', project ?? GLOBAL)
    return (await select.orderBy('project').orderBy('principal_kind').orderBy('principal_name').execute()).map(toGrant)
  }

  /** Whether the principal reviews everything (a global grant to them or to one of their groups). */
  reviewsAll(principal: Principal): Promise<boolean> {
    return this.holds(principal, [GLOBAL])
  }

  /** Whether the principal reviews `project` (a global grant, or one for that project). */
  reviewsProject(principal: Principal, project: string | undefined): Promise<boolean> {
    return this.holds(principal, project === undefined ? [GLOBAL] : [GLOBAL, project])
  }

  private async holds(principal: Principal, projects: readonly string[]): Promise<boolean> {
    // Registry tokens and scoped access tokens carry narrower rights than their owner's: not this role.
    if (principal.kind !== 'user' || principal.scope || (principal.tokenScope && principal.tokenScope.applied.some((a) => a.kind !== 'user' && a.kind !== 'admin'))) return false
    const groups = await this.groups.groupsOf(principal.name)
    const row = await this.db
      .selectFrom('security_reviewers')
      .select('project')
      .where('project', 'in', [...projects])
      .where((eb) =>
        eb.or([
          eb.and([eb('principal_kind', '=', 'user'), eb('principal_name', '=', principal.name)]),
          ...(groups.length > 0 ? [eb.and([eb('principal_kind', '=', 'group'), eb('principal_name', 'in', groups)])] : []),
        ]),
      )
      .executeTakeFirst()
    return row !== undefined
  }
}

function toGrant(row: { principal_kind: string; principal_name: string; project: string; granted_by: string; granted_at: number }): ReviewerGrant {
  return { kind: row.principal_kind as ReviewerKind, name: row.principal_name, project: row.project === GLOBAL ? null : row.project, grantedBy: row.granted_by, grantedAt: row.granted_at }
}
