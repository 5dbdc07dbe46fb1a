import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AdminPrivileges, MemberKind, Project, ProjectInput } from '../../core/auth/projects.js'
import { PROJECT_ROLES, projectKeyPrefix } from '../../core/auth/projects.js'
import { QUOTA_WARNING_RATIO, isOverWarning } from '../../core/auth/quota.js'
import type { CoreServices } from '../../core/services.js'
import { TroveError, denied, invalidField, notFound } from '../../core/errors.js'
import type { AccessGuard } from '../access.js'

type KeyParams = { Params: { key: string } }
type MemberParams = { Params: { key: string; name: string } }

/**
 * Artifactory's Projects API (`/access/api/v1/projects`): projects, their members (users and
 * groups with roles), Trove's service accounts, read-only shares of repositories, and the global
 * access settings.
 */
export async function projectRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  const { projects, authorizer } = services

  /** A system admin, or a Project Admin of the URL's project holding `privilege`. */
  const administers = (privilege: keyof AdminPrivileges) => async (request: FastifyRequest) => {
    const key = (request.params as { key: string }).key
    const principal = request.principal
    if (principal.kind === 'anonymous') throw new TroveError('UNAUTHORIZED', 'authentication is required')
    if (await authorizer.administersProject(principal, key, privilege)) return
    await projects.require(key) // an unknown project is reported as such, to those allowed to ask
    throw denied(`user '${principal.name}' is not a Project Admin of '${key}' allowed to ${privilege === 'manageMembers' ? 'manage its members' : 'manage its repositories'}`)
  }

  /** Any member of the project (any role, directly or through a group), or a system admin. */
  const memberOf = async (request: FastifyRequest) => {
    const key = (request.params as { key: string }).key
    const principal = request.principal
    if (principal.kind === 'anonymous') throw new TroveError('UNAUTHORIZED', 'authentication is required')
    if (principal.isAdmin) return
    const roles = await projects.rolesOf(principal.name, await services.groups.groupsOf(principal.name))
    if (!roles.has(key)) throw notFound(`project '${key}' does not exist`) // not probed by outsiders
  }

  app.get('/access/api/v1/projects', { config: { access: 'authenticated' } }, async (request) => {
    const principal = request.principal
    const all = await projects.list()
    if (principal.kind === 'user' && principal.isAdmin) return all.map(projectBody)
    const roles = principal.kind === 'user' ? await projects.rolesOf(principal.name, await services.groups.groupsOf(principal.name)) : new Map()
    return all.filter((p) => roles.has(p.key)).map(projectBody)
  })

  app.post<{ Body: unknown }>('/access/api/v1/projects', { config: { audit: { action: 'project.create', target: (r) => String((r.body as { project_key?: unknown } | null)?.project_key ?? ''), project: (r) => String((r.body as { project_key?: unknown } | null)?.project_key ?? '') || undefined }, access: 'admin' } }, async (request, reply) => {
    const body = objectBody(request.body)
    const key = body.project_key
    if (typeof key !== 'string' || key === '') throw invalidField('project_key', 'project_key is required')
    const project = await projects.create(key, projectInput(body))
    request.log.info({ project: key, quota: project.storageQuotaBytes }, 'project created')
    return reply.status(201).send(projectBody(project))
  })

  app.get<KeyParams>('/access/api/v1/projects/:key', { config: { access: memberOf } }, async (request) => projectBody(await projects.require(request.params.key)))

  app.put<KeyParams & { Body: unknown }>('/access/api/v1/projects/:key', { config: { audit: { action: 'project.update', project: 'key' }, access: 'admin' } }, async (request) => {
    const body = objectBody(request.body)
    if (body.project_key !== undefined && body.project_key !== request.params.key) {
      throw invalidField('project_key', `project_key cannot be changed (the URL names '${request.params.key}')`)
    }
    return projectBody(await projects.update(request.params.key, projectInput(body)))
  })

  app.delete<KeyParams>('/access/api/v1/projects/:key', { config: { audit: { action: 'project.delete', project: 'key' }, access: 'admin' } }, async (request, reply) => {
    await projects.delete(request.params.key)
    return reply.status(204).send()
  })

  app.get<KeyParams>('/access/api/v1/projects/:key/roles', { config: { access: memberOf } }, async () =>
    Object.entries(PROJECT_ROLES).map(([name, actions]) => ({ name, type: 'PREDEFINED', environments: ['DEV', 'PROD'], actions: actions.map(actionWord) })),
  )

  // Members: users and groups, Artifactory's `{"name", "roles"}`.
  for (const [segment, kind] of [['users', 'user'], ['groups', 'group']] as const) {
    app.get<KeyParams>(`/access/api/v1/projects/:key/${segment}`, { config: { access: memberOf } }, async (request) => {
      await projects.require(request.params.key)
      return { members: (await projects.members(request.params.key, kind)).map((m) => ({ name: m.name, roles: m.roles })) }
    })
    app.get<MemberParams>(`/access/api/v1/projects/:key/${segment}/:name`, { config: { access: memberOf } }, async (request) => {
      const member = await projects.member(request.params.key, kind, request.params.name)
      if (!member) throw notFound(`${kind} '${request.params.name}' is not a member of project '${request.params.key}'`)
      return { name: member.name, roles: member.roles }
    })
    app.put<MemberParams & { Body: unknown }>(
      `/access/api/v1/projects/:key/${segment}/:name`,
      { config: { audit: { action: 'project.member.set', target: memberTarget, project: 'key' }, access: administers('manageMembers') } },
      async (request) => {
        const body = objectBody(request.body)
        if (body.name !== undefined && body.name !== request.params.name) {
          throw invalidField('name', `the name in the body ('${String(body.name)}') differs from the name in the URL ('${request.params.name}')`)
        }
        const member = await projects.setMember(request.params.key, kind as MemberKind, request.params.name, body.roles)
        return { name: member.name, roles: member.roles }
      },
    )
    app.delete<MemberParams>(`/access/api/v1/projects/:key/${segment}/:name`, { config: { audit: { action: 'project.member.remove', target: memberTarget, project: 'key' }, access: administers('manageMembers') } }, async (request, reply) => {
      await projects.removeMember(request.params.key, kind, request.params.name)
      return reply.status(204).send()
    })
  }

  // Service accounts (Trove): token-only users of one project, with project roles.
  app.get<KeyParams>('/access/api/v1/projects/:key/service-accounts', { config: { access: memberOf } }, async (request) => {
    await projects.require(request.params.key)
    const members = await projects.members(request.params.key, 'user')
    const accounts = await services.users.serviceAccounts(request.params.key)
    return {
      service_accounts: accounts.map((a) => ({ name: a.name, roles: members.find((m) => m.name === a.name)?.roles ?? [], created: new Date(a.createdAt).toISOString() })),
    }
  })
  app.put<MemberParams & { Body: unknown }>(
    '/access/api/v1/projects/:key/service-accounts/:name',
    { config: { audit: { action: 'project.service-account.put', target: memberTarget, project: 'key' }, access: administers('manageMembers') } },
    async (request, reply) => {
      const body = objectBody(request.body)
      const { key, name } = request.params
      const isNew = !(await services.users.serviceAccounts(key)).some((a) => a.name === name)
      const member = isNew ? await projects.createServiceAccount(key, name, body.roles) : await projects.setMember(key, 'user', name, body.roles)
      if (isNew) request.log.info({ project: key, serviceAccount: name }, 'service account created')
      return reply.status(isNew ? 201 : 200).send({ name: member.name, roles: member.roles })
    },
  )
  app.delete<MemberParams>('/access/api/v1/projects/:key/service-accounts/:name', { config: { audit: { action: 'project.service-account.delete', target: memberTarget, project: 'key' }, access: administers('manageMembers') } }, async (request, reply) => {
    await projects.deleteServiceAccount(request.params.key, request.params.name)
    return reply.status(204).send()
  })

  // Shares: Artifactory's `/projects/_/share/repositories/{repo}[/{target_project}]`.
  const sharer = async (request: FastifyRequest, _guard: AccessGuard) => {
    const repo = (request.params as { repo: string }).repo
    const principal = request.principal
    if (principal.kind === 'anonymous') throw new TroveError('UNAUTHORIZED', 'authentication is required')
    const repository = await services.repositories.require(repo)
    const owner = repository.config.projectKey
    if (principal.isAdmin) return
    if (typeof owner === 'string' && (await authorizer.administersProject(principal, owner, 'manageResources'))) return
    throw denied(`user '${principal.name}' may not share '${repo}' (a system admin or a Project Admin of its project may)`)
  }
  type ShareParams = { Params: { repo: string; target?: string } }
  app.get<ShareParams>('/access/api/v1/projects/_/share/repositories/:repo', { config: { access: sharer } }, async (request) => {
    const shares = await projects.shares(request.params.repo)
    return { shared_with_all: shares.withAll, target_projects: shares.projects }
  })
  for (const path of ['/access/api/v1/projects/_/share/repositories/:repo', '/access/api/v1/projects/_/share/repositories/:repo/:target']) {
    app.put<ShareParams>(path, { config: { audit: { action: 'repository.share', target: shareTarget, project: shareProject }, access: sharer } }, async (request, reply) => {
      await projects.share(request.params.repo, request.params.target)
      return reply.status(204).send()
    })
    app.delete<ShareParams>(path, { config: { audit: { action: 'repository.unshare', target: shareTarget, project: shareProject }, access: sharer } }, async (request, reply) => {
      await projects.unshare(request.params.repo, request.params.target)
      return reply.status(204).send()
    })
  }

  // Global access settings (Trove): maximum token lifetime, remote repositories readable by logged-in users.
  app.get('/api/v1/system/access', { config: { access: 'admin' } }, async () => services.accessSettings.get())
  app.patch<{ Body: unknown }>('/api/v1/system/access', { config: { audit: { action: 'system.access.update', target: () => 'access settings' }, access: 'admin' } }, async (request) => services.accessSettings.update(request.body))
}

function projectBody(project: Project) {
  return {
    project_key: project.key,
    display_name: project.displayName,
    description: project.description,
    admin_privileges: {
      manage_members: project.adminPrivileges.manageMembers,
      manage_resources: project.adminPrivileges.manageResources,
      index_resources: project.adminPrivileges.indexResources,
    },
    storage_quota_bytes: project.storageQuotaBytes,
    // Trove: the usage the quota is checked against, and whether it passed the warning threshold.
    storage_used_bytes: project.usedBytes,
    storage_quota_warning_threshold: QUOTA_WARNING_RATIO,
    storage_quota_warning: isOverWarning(project.usedBytes, project.storageQuotaBytes),
  }
}

/** Artifactory's project JSON → what the service takes (also what an approved project request creates). */
export function projectInput(body: Record<string, unknown>): ProjectInput {
  const text = (field: string) => {
    const value = body[field]
    if (value !== undefined && typeof value !== 'string') throw invalidField(field, `${field} must be a string`)
    return value as string | undefined
  }
  const quota = body.storage_quota_bytes
  if (quota !== undefined && typeof quota !== 'number') throw invalidField('storage_quota_bytes', 'storage_quota_bytes must be a number of bytes (-1: no quota)')
  const privileges = body.admin_privileges
  let adminPrivileges: Partial<AdminPrivileges> | undefined
  if (privileges !== undefined) {
    if (typeof privileges !== 'object' || privileges === null || Array.isArray(privileges)) throw invalidField('admin_privileges', 'admin_privileges must be an object')
    const p = privileges as Record<string, unknown>
    const flag = (field: string) => {
      if (p[field] !== undefined && typeof p[field] !== 'boolean') throw invalidField(`admin_privileges.${field}`, `admin_privileges.${field} must be true or false`)
      return p[field] as boolean | undefined
    }
    adminPrivileges = Object.fromEntries(
      Object.entries({ manageMembers: flag('manage_members'), manageResources: flag('manage_resources'), indexResources: flag('index_resources') }).filter(([, v]) => v !== undefined),
    )
  }
  return { displayName: text('display_name'), description: text('description'), storageQuotaBytes: quota as number | undefined, adminPrivileges }
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TroveError('BAD_REQUEST', 'the body must be a JSON object')
  return body as Record<string, unknown>
}

function actionWord(action: string): string {
  return action === 'deploy' ? 'write' : action
}

/** `project/name` of a member or service-account route. */
function memberTarget(request: FastifyRequest): string {
  const { key, name } = request.params as { key: string; name: string }
  return `${key}/${name}`
}

/** The repository shared, and with what (a project, or everyone). */
function shareTarget(request: FastifyRequest): string {
  const { repo, target } = request.params as { repo: string; target?: string }
  return `${repo} with ${target ?? 'all projects'}`
}

function shareProject(request: FastifyRequest): string | undefined {
  return projectKeyPrefix((request.params as { repo: string }).repo)
}
