import type { CreatedTokenBody, TokenList, TokenRequest } from '../../src/api/security.js'
import type { UiProjectList } from '../../src/api/ui.js'
import { getJson, send, sendJson } from './api.js'

export type { UiProject } from '../../src/api/ui.js'

/** A member of a project (`GET /access/api/v1/projects/{key}/users` and `/groups`). */
export interface ProjectMember {
  readonly name: string
  readonly roles: readonly string[]
}

export interface ServiceAccount {
  readonly name: string
  readonly roles: readonly string[]
  readonly created: string
}

const projectUrl = (key: string) => `/access/api/v1/projects/${encodeURIComponent(key)}`

/** The Projects REST API (docs/access.md) and the console's project list. */
export const projectsApi = {
  /** The caller's projects (an admin: all) with their roles, rights, quota and repositories. */
  list: async () => (await getJson<UiProjectList>('/api/v1/ui/projects')).projects,
  create: (body: { project_key: string; display_name: string; description?: string; storage_quota_bytes: number }) => sendJson<unknown>('POST', '/access/api/v1/projects', body),
  setQuota: (key: string, bytes: number) => sendJson<unknown>('PUT', projectUrl(key), { storage_quota_bytes: bytes }),
  roles: async (key: string) => (await getJson<{ name: string }[]>(`${projectUrl(key)}/roles`)).map((r) => r.name),
  members: async (key: string, kind: 'users' | 'groups') => (await getJson<{ members: ProjectMember[] }>(`${projectUrl(key)}/${kind}`)).members,
  setMember: (key: string, kind: 'users' | 'groups', name: string, roles: readonly string[]) => send('PUT', `${projectUrl(key)}/${kind}/${encodeURIComponent(name)}`, { roles }),
  removeMember: (key: string, kind: 'users' | 'groups', name: string) => send('DELETE', `${projectUrl(key)}/${kind}/${encodeURIComponent(name)}`),
  serviceAccounts: async (key: string) => (await getJson<{ service_accounts: ServiceAccount[] }>(`${projectUrl(key)}/service-accounts`)).service_accounts,
  putServiceAccount: (key: string, name: string, roles: readonly string[]) => send('PUT', `${projectUrl(key)}/service-accounts/${encodeURIComponent(name)}`, { roles }),
  deleteServiceAccount: (key: string, name: string) => send('DELETE', `${projectUrl(key)}/service-accounts/${encodeURIComponent(name)}`),
  /** One user's tokens: yours, a service account's of a project you administer, anyone's for an admin. */
  tokensOf: async (username: string) => (await getJson<TokenList>(`/access/api/v1/tokens?username=${encodeURIComponent(username)}`)).tokens,
  revokeToken: (id: string) => send('DELETE', `/access/api/v1/tokens/${encodeURIComponent(id)}`),
  createToken: (request: TokenRequest) => sendJson<CreatedTokenBody>('POST', '/access/api/v1/tokens', request),
}

/** `applied-permissions/roles:<project>:<role>` with the role quoted when it has a space (docs/access.md). */
export function roleScope(project: string, role: string): string {
  return `applied-permissions/roles:${project}:${/\s/.test(role) ? `"${role}"` : role}`
}
