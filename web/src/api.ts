import type { RestError, RestErrorBody } from '../../src/api/errors.js'
import type { UiFormat, UiFormatList, UiSetMeUp } from '../../src/api/formats.js'
import type { UiPackage, UiPackageList, UiPackageVersion } from '../../src/api/packages.js'
import type { RepositoryConfigBody, RepositoryConfigRequest } from '../../src/api/repositories.js'
import type { CreatedTokenBody, TokenList, TokenRequest, UserBody, UserRequest, UserSummary } from '../../src/api/security.js'
import type { UiDownloadVerdict, UiScanReport, UiScanSummary } from '../../src/api/scanning.js'
import type { SearchResults, StorageInfo, StorageItem, StorageProperties, StorageStats } from '../../src/api/storage.js'
import type { ClusterNodes, Readiness, ReadOnlyRequest, ReadOnlyState, SystemVersion } from '../../src/api/system.js'
import type { UiLoginRequest, UiMe, UiRepositoryList, UiSsoIdentity, UiSsoProviders } from '../../src/api/ui.js'

export type { UiMe, UiRepository } from '../../src/api/ui.js'
export type { UiFormat, UiRepositorySetting } from '../../src/api/formats.js'
export type { ReadOnlyState } from '../../src/api/system.js'
export type { StorageItem } from '../../src/api/storage.js'
export type { TokenInfo } from '../../src/api/security.js'
export type { UiDownloadVerdict, UiScanReport, UiScanSummary, UiScanVulnerability, UiSeverityLevel } from '../../src/api/scanning.js'
export type { RepositoryConfigBody }
export type { UiCell, UiPackage, UiPackageList, UiPackageVersion, UiSection } from '../../src/api/packages.js'

/**
 * An error answer of the REST API (`{"errors":[{"status","message","code","field"}]}`,
 * src/api/errors.ts), or a network failure (status 0): its entries say which field each problem
 * is with, so that forms place them without reading the messages.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The entries of the error body; empty when the answer had none (a proxy's page, a network failure). */
    readonly errors: readonly RestError[] = [],
  ) {
    super(message)
    this.name = 'ApiError'
  }

  /** The stable code of the first entry (`NOT_FOUND`, `BAD_REQUEST`, …), if the answer had one. */
  get code(): string | undefined {
    return this.errors[0]?.code
  }
}

const CSRF_COOKIE = 'trove_csrf'
const SAFE = new Set(['GET', 'HEAD'])

/** Called on any 401: the session ended, the console shows the login page. */
let onUnauthorized: () => void = () => {}
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler
}

function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join('='))
  }
  return ''
}

export interface RequestOptions {
  readonly method?: string
  readonly json?: unknown
  readonly body?: BodyInit
  readonly headers?: Record<string, string>
  readonly signal?: AbortSignal
  /** Don't treat a 401 as the end of the session (the login call). */
  readonly isLogin?: boolean
}

/** One call to Trove's REST API with the session cookie, the CSRF header and the console marker. */
async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET'
  const headers: Record<string, string> = { 'x-requested-with': 'XMLHttpRequest', ...options.headers }
  if (!SAFE.has(method)) headers['x-csrf-token'] = csrfToken()
  let body = options.body
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(options.json)
  }
  let response: Response
  try {
    response = await fetch(path, { method, headers, body: body ?? null, credentials: 'same-origin', signal: options.signal ?? null })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new ApiError(0, `Trove did not answer (${(err as Error).message}); check your connection and try again`)
  }
  if (response.ok) return response
  const error = await errorOf(response)
  if (response.status === 401 && !options.isLogin) onUnauthorized()
  throw error
}

/** The REST error body of a refused call; any other body (a proxy's page) becomes the message. */
async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '')
  const errors = restErrors(text)
  const message = errors.length > 0 ? errors.map((e) => e.message).join('; ') : text.trim() || `${response.status} ${response.statusText}`
  return new ApiError(response.status, message, errors)
}

function restErrors(text: string): RestError[] {
  try {
    const body = JSON.parse(text) as Partial<RestErrorBody>
    return Array.isArray(body.errors) ? body.errors.filter((e) => typeof e?.message === 'string') : []
  } catch {
    return [] // not JSON
  }
}

export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await (await request(path, options)).json()) as T
}

/** A call whose answer is JSON of type `T`. */
export async function sendJson<T>(method: string, path: string, json: unknown, options: RequestOptions = {}): Promise<T> {
  return (await (await request(path, { ...options, method, json })).json()) as T
}

/** A call whose answer carries nothing the console reads (a status line, a text confirmation). */
export async function send(method: string, path: string, json?: unknown): Promise<void> {
  const response = await request(path, { method, json })
  await response.body?.cancel()
}

/** Percent-encodes each segment of a repository path, keeping the slashes. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}

const repositoryUrl = (key: string) => `/artifactory/api/repositories/${encodeURIComponent(key)}`
const userUrl = (name: string) => `/artifactory/api/security/users/${encodeURIComponent(name)}`
const groupUrl = (name: string) => `/artifactory/api/security/groups/${encodeURIComponent(name)}`
const permissionUrl = (name: string) => `/artifactory/api/v2/security/permissions/${encodeURIComponent(name)}`

/** A group as Artifactory's groups API reads and writes it (src/core/auth/groups.ts). */
export interface GroupBody {
  readonly name: string
  readonly description?: string
  readonly userNames: readonly string[]
}

/** A permission target in Artifactory's v2 shape, its `repo` section (src/core/auth/permission-targets.ts). */
export interface PermissionTargetBody {
  readonly name: string
  readonly repo: {
    readonly repositories: readonly string[]
    readonly 'include-patterns': readonly string[]
    readonly 'exclude-patterns': readonly string[]
    readonly actions: { readonly users: Readonly<Record<string, readonly string[]>>; readonly groups: Readonly<Record<string, readonly string[]>> }
  }
}

// --- Typed calls, all to the documented REST API; bodies and answers typed in src/api/.

export const api = {
  me: () => getJson<UiMe>('/api/v1/ui/me'),
  login: (user: string, password: string) => sendJson<UiMe>('POST', '/api/v1/ui/login', { user, password } satisfies UiLoginRequest, { isLogin: true }),
  logout: () => send('POST', '/api/v1/ui/logout'),
  /** Single sign-on providers, one login button each (none until they are configured). */
  ssoProviders: async (): Promise<UiSsoProviders['providers']> => {
    try {
      return (await getJson<UiSsoProviders>('/api/v1/ui/sso-providers', { isLogin: true })).providers
    } catch {
      return []
    }
  },
  /** The formats the server serves, with their classes, settings and console descriptors. */
  formats: async (): Promise<readonly UiFormat[]> => (await getJson<UiFormatList>('/api/v1/ui/formats')).formats,
  /** A repository's Set Me Up snippets for this user, with the token placeholder. */
  setMeUp: (key: string) => getJson<UiSetMeUp>(`/api/v1/ui/repositories/${encodeURIComponent(key)}/set-me-up`),
  repositories: async () => (await getJson<UiRepositoryList>('/api/v1/ui/repositories')).repositories,
  /** What the caller may do in a repository (at a path): the console offers only those controls. */
  actions: async (key: string, path = ''): Promise<ReadonlySet<string>> =>
    new Set((await getJson<{ actions: string[] }>(`/api/v1/ui/repositories/${encodeURIComponent(key)}/actions?${new URLSearchParams({ path })}`)).actions),
  /** A repository's packages as its format reads them (`supported: false`: the format has no package views). */
  packages: (key: string, query: { q?: string; sort?: string } = {}) =>
    getJson<UiPackageList>(`/api/v1/ui/repositories/${encodeURIComponent(key)}/packages?${new URLSearchParams(query as Record<string, string>)}`),
  package: (key: string, name: string) => getJson<UiPackage>(`/api/v1/ui/repositories/${encodeURIComponent(key)}/package?${new URLSearchParams({ name })}`),
  packageVersion: (key: string, name: string, version: string) =>
    getJson<UiPackageVersion>(`/api/v1/ui/repositories/${encodeURIComponent(key)}/package-version?${new URLSearchParams({ name, version })}`),
  repository: (key: string) => getJson<RepositoryConfigBody>(repositoryUrl(key)),
  createRepository: (key: string, body: RepositoryConfigRequest) => send('PUT', repositoryUrl(key), body),
  updateRepository: (key: string, body: RepositoryConfigRequest) => send('POST', repositoryUrl(key), body),
  deleteRepository: (key: string) => send('DELETE', repositoryUrl(key)),
  item: (key: string, path: string) => getJson<StorageItem>(storageUrl(key, path)),
  stats: (key: string, path: string) => getJson<StorageStats>(`${storageUrl(key, path)}?stats`),
  properties: async (key: string, path: string): Promise<StorageProperties['properties']> => {
    try {
      return (await getJson<StorageProperties>(`${storageUrl(key, path)}?properties`)).properties
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return {}
      throw err
    }
  },
  setProperty: (key: string, path: string, name: string, values: readonly string[]) =>
    send('PUT', `${storageUrl(key, path)}?properties=${encodeURIComponent(`${escapeProperty(name)}=${values.map(escapeProperty).join(',')}`)}&recursive=0`),
  deleteProperty: (key: string, path: string, name: string) => send('DELETE', `${storageUrl(key, path)}?properties=${encodeURIComponent(name)}&recursive=0`),
  searchByName: (name: string) => getJson<SearchResults>(`/artifactory/api/search/artifact?name=${encodeURIComponent(name)}`),
  searchByChecksum: (algorithm: 'sha256' | 'sha1' | 'md5', value: string) =>
    getJson<SearchResults>(`/artifactory/api/search/checksum?${algorithm}=${encodeURIComponent(value)}`),
  createToken: (description: string, expiresInSecs: number) =>
    sendJson<CreatedTokenBody>('POST', '/access/api/v1/tokens', { description, ...(expiresInSecs > 0 ? { expires_in: expiresInSecs } : {}) } satisfies TokenRequest),
  tokens: () => getJson<TokenList>('/access/api/v1/tokens'),
  revokeToken: (id: string) => send('DELETE', `/access/api/v1/tokens/${encodeURIComponent(id)}`),
  /** The scan report of one stored file (docs/scanning.md). */
  scanReport: (key: string, path: string) => getJson<UiScanReport>(`/api/v1/scan/artifact/${encodeURIComponent(key)}/${encodePath(path)}`),
  /** The same report as a CycloneDX 1.5 SBOM (JSON). */
  scanSbom: (key: string, path: string) => getJson<unknown>(`/api/v1/scan/artifact/${encodeURIComponent(key)}/${encodePath(path)}?format=cyclonedx`),
  /** Scan counts of a repository by severity, where scans stand, and its worst vulnerabilities. */
  scanSummary: (key: string) => getJson<UiScanSummary>(`/api/v1/scan/repository/${encodeURIComponent(key)}/summary`),
  /** The same over every repository of a project (its members and admins). */
  projectScanSummary: (key: string) => getJson<Omit<UiScanSummary, 'repo'> & { project: string; repositories: string[] }>(`/api/v1/scan/project/${encodeURIComponent(key)}/summary`),
  /** What a download of the file would get now from the download policies. */
  downloadVerdict: (key: string, path: string) => getJson<UiDownloadVerdict>(`/api/v1/ui/scan/verdict/${encodeURIComponent(key)}/${encodePath(path)}`),
  readOnly: () => getJson<ReadOnlyState>('/api/v1/system/read-only'),
  setReadOnly: (body: ReadOnlyRequest) => sendJson<ReadOnlyState>('PUT', '/api/v1/system/read-only', body),
  version: () => getJson<SystemVersion>('/artifactory/api/system/version'),
  readiness: async () => {
    // 503 carries the same body: which check failed.
    const response = await fetch('/api/v1/system/readiness', { headers: { 'x-requested-with': 'XMLHttpRequest' } })
    return (await response.json()) as Readiness
  },
  /** The nodes of the cluster, from their heartbeats (one on SQLite). */
  nodes: async () => (await getJson<ClusterNodes>('/api/v1/system/nodes')).nodes,
  storageInfo: () => getJson<StorageInfo>('/artifactory/api/storageinfo'),
  users: () => getJson<UserSummary[]>('/artifactory/api/security/users'),
  user: (name: string) => getJson<UserBody>(userUrl(name)),
  /** Creates a user (a password is required) or replaces one. */
  putUser: (name: string, body: UserRequest) => send('PUT', userUrl(name), body),
  updateUser: (name: string, body: UserRequest) => send('POST', userUrl(name), body),
  deleteUser: (name: string) => send('DELETE', userUrl(name)),
  groups: () => getJson<{ name: string }[]>('/artifactory/api/security/groups'),
  group: (name: string) => getJson<GroupBody>(groupUrl(name)),
  ssoIdentities: (user: string) => getJson<{ identities: UiSsoIdentity[] }>(`/api/v1/ui/users/${encodeURIComponent(user)}/sso`),
  /** Creates or replaces a group; `userNames` replaces its members. */
  putGroup: (name: string, body: Omit<GroupBody, 'name'>) => send('PUT', groupUrl(name), body),
  /** Changes the fields given of an existing group. */
  updateGroup: (name: string, body: Partial<Omit<GroupBody, 'name'>>) => send('POST', groupUrl(name), body),
  deleteGroup: (name: string) => send('DELETE', groupUrl(name)),
  permissions: () => getJson<{ name: string }[]>('/artifactory/api/v2/security/permissions'),
  permission: (name: string) => getJson<PermissionTargetBody>(permissionUrl(name)),
  /** Creates a target (refused with a conflict when one has the name). */
  createPermission: (body: PermissionTargetBody) => send('POST', permissionUrl(body.name), body),
  replacePermission: (body: PermissionTargetBody) => send('PUT', permissionUrl(body.name), body),
  deletePermission: (name: string) => send('DELETE', permissionUrl(name)),
}

export function storageUrl(key: string, path: string): string {
  return `/artifactory/api/storage/${encodeURIComponent(key)}${path ? `/${encodePath(path)}` : ''}`
}

export function downloadUrl(key: string, path: string): string {
  return `/artifactory/${encodeURIComponent(key)}/${encodePath(path)}`
}

/** Artifactory's property syntax escapes `,`, `|`, `=` and `\` with a backslash. */
function escapeProperty(text: string): string {
  return text.replace(/[\\,|=]/g, (c) => `\\${c}`)
}

/** `{repo, path}` of a storage URI as the search API returns it. */
export function parseStorageUri(uri: string): { repo: string; path: string } | undefined {
  const match = /\/artifactory\/api\/storage\/([^/]+)\/(.*)$/.exec(new URL(uri, location.origin).pathname)
  if (!match) return undefined
  return { repo: decodeURIComponent(match[1]!), path: match[2]!.split('/').map(decodeURIComponent).join('/') }
}
