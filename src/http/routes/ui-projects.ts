import type { FastifyInstance } from 'fastify'
import type { UiProject, UiProjectList } from '../../api/ui.js'
import { isOverWarning } from '../../core/auth/quota.js'
import type { CoreServices } from '../../core/services.js'

/**
 * The console's "My projects": `GET /api/v1/ui/projects` lists the caller's projects (an admin:
 * every project) with the caller's roles, what the caller may manage there, and each repository's
 * usage, in one call; everything the page changes goes through the Projects REST API.
 */
export async function uiProjectRoutes(app: FastifyInstance, services: CoreServices): Promise<void> {
  app.get('/api/v1/ui/projects', { config: { access: 'authenticated' } }, async (request): Promise<UiProjectList> => {
    const principal = request.principal
    const name = principal.kind === 'user' ? principal.name : undefined
    const roles = name === undefined ? new Map<string, Set<string>>() : await services.projects.rolesOf(name, await services.groups.groupsOf(name))
    const isAdmin = principal.kind === 'user' && principal.isAdmin
    const mine = (await services.projects.list()).filter((p) => isAdmin || roles.has(p.key))
    const usage = await services.artifacts.usage()
    const projects: UiProject[] = []
    for (const project of mine) {
      const keys = await services.projects.repositoryKeys(project.key)
      const repositories = (await Promise.all(keys.map((k) => services.repositories.get(k)))).filter((r) => r !== undefined)
      projects.push({
        key: project.key,
        displayName: project.displayName,
        description: project.description,
        storageQuotaBytes: project.storageQuotaBytes,
        storageUsedBytes: project.usedBytes,
        storageQuotaWarning: isOverWarning(project.usedBytes, project.storageQuotaBytes),
        roles: [...(roles.get(project.key) ?? [])].sort(),
        manageMembers: await services.authorizer.administersProject(principal, project.key, 'manageMembers'),
        manageResources: await services.authorizer.administersProject(principal, project.key, 'manageResources'),
        repositories: repositories.map((r) => ({
          key: r.key,
          rclass: r.rclass,
          packageType: r.packageType,
          filesCount: usage.get(r.key)?.files ?? 0,
          usedSpaceInBytes: usage.get(r.key)?.bytes ?? 0,
        })),
      })
    }
    return { projects }
  })
}
