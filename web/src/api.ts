import type { UiMe, UiRepository, UiRepositoryList, UiSsoProviders } from '../../src/api/ui.js'

export type { UiMe, UiRepository }

/** An error answer of the REST API (`{"errors":[{"status","message"}]}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
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
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
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
  const message = await errorMessage(response)
  if (response.status === 401 && !options.isLogin) onUnauthorized()
  throw new ApiError(response.status, message)
}

async function errorMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => '')
  try {
    const parsed = JSON.parse(text) as { errors?: { message?: string }[]; error?: string | { message?: string } }
    const first = parsed.errors?.[0]?.message
    if (first) return first
    if (typeof parsed.error === 'string') return parsed.error
    if (parsed.error?.message) return parsed.error.message
  } catch {
    // not JSON
  }
  return text.trim() || `${response.status} ${response.statusText}`
}

export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await (await request(path, options)).json()) as T
}

export async function sendJson<T = unknown>(method: string, path: string, json: unknown): Promise<T | undefined> {
  const response = await request(path, { method, json })
  const text = await response.text()
  if (!text) return undefined
  try {
    return JSON.parse(text) as T
  } catch {
    return text as unknown as T
  }
}

/** Percent-encodes each segment of a repository path, keeping the slashes. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}

// --- Typed calls, all to the documented REST API.

export const api = {
  me: () => getJson<UiMe>('/api/v1/ui/me'),
  login: async (user: string, password: string) => (await (await request('/api/v1/ui/login', { method: 'POST', json: { user, password }, isLogin: true })).json()) as UiMe,
  logout: () => request('/api/v1/ui/logout', { method: 'POST' }),
  /** Single sign-on providers, one login button each (none until they are configured). */
  ssoProviders: async (): Promise<UiSsoProviders['providers']> => {
    try {
      return (await getJson<UiSsoProviders>('/api/v1/ui/sso-providers', { isLogin: true })).providers
    } catch {
      return []
    }
  },
  repositories: async () => (await getJson<UiRepositoryList>('/api/v1/ui/repositories')).repositories,
  repository: (key: string) => getJson<RepositoryConfig>(`/artifactory/api/repositories/${encodeURIComponent(key)}`),
  item: (key: string, path: string) => getJson<StorageItem>(storageUrl(key, path)),
  stats: (key: string, path: string) => getJson<StorageStats>(`${storageUrl(key, path)}?stats`),
  properties: async (key: string, path: string): Promise<Record<string, string[]>> => {
    try {
      return (await getJson<{ properties: Record<string, string[]> }>(`${storageUrl(key, path)}?properties`)).properties
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return {}
      throw err
    }
  },
  setProperty: (key: string, path: string, name: string, values: readonly string[]) =>
    request(`${storageUrl(key, path)}?properties=${encodeURIComponent(`${escapeProperty(name)}=${values.map(escapeProperty).join(',')}`)}&recursive=0`, { method: 'PUT' }),
  deleteProperty: (key: string, path: string, name: string) =>
    request(`${storageUrl(key, path)}?properties=${encodeURIComponent(name)}&recursive=0`, { method: 'DELETE' }),
  searchByName: (name: string) => getJson<{ results: { uri: string }[] }>(`/artifactory/api/search/artifact?name=${encodeURIComponent(name)}`),
  searchByChecksum: (algorithm: 'sha256' | 'sha1' | 'md5', value: string) =>
    getJson<{ results: { uri: string }[] }>(`/artifactory/api/search/checksum?${algorithm}=${encodeURIComponent(value)}`),
  createToken: (description: string, expiresInSecs: number) =>
    sendJson<{ access_token: string; token_id: string; expires_in: number }>('POST', '/access/api/v1/tokens', {
      description,
      ...(expiresInSecs > 0 ? { expires_in: expiresInSecs } : {}),
    }),
  tokens: () => getJson<{ tokens: TokenInfo[] }>('/access/api/v1/tokens'),
  revokeToken: (id: string) => request(`/access/api/v1/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  readOnly: () => getJson<ReadOnlyState>('/api/v1/system/read-only'),
  setReadOnly: (enabled: boolean, message: string) => sendJson<ReadOnlyState>('PUT', '/api/v1/system/read-only', { enabled, message }),
  version: () => getJson<{ version: string; revision: string }>('/artifactory/api/system/version'),
  readiness: async () => {
    // 503 carries the same body: which check failed.
    const response = await fetch('/api/v1/system/readiness', { headers: { 'x-requested-with': 'XMLHttpRequest' } })
    return (await response.json()) as { status: string; checks: { name: string; status: string; error?: string }[] }
  },
  storageInfo: () =>
    getJson<{ repositoriesSummaryList: { repoKey: string; packageType: string; repoType: string; filesCount: number; usedSpaceInBytes: number }[]; totals: { filesCount: number; usedSpaceInBytes: number } }>(
      '/artifactory/api/storageinfo',
    ),
  users: () => getJson<{ name: string }[]>('/artifactory/api/security/users'),
  user: (name: string) => getJson<UserRecord>(`/artifactory/api/security/users/${encodeURIComponent(name)}`),
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

export interface RepositoryConfig {
  key: string
  rclass: string
  packageType: string
  description?: string
  notes?: string
  includesPattern?: string
  excludesPattern?: string
  anonymousRead?: boolean
  url?: string
  username?: string
  password?: string
  offline?: boolean
  repositories?: string[]
  defaultDeploymentRepo?: string
  [field: string]: unknown
}

export interface StorageItem {
  repo: string
  path: string
  created: string
  createdBy: string
  lastModified: string
  modifiedBy: string
  uri: string
  /** Folders only. */
  children?: { uri: string; folder: boolean }[]
  /** Files only. */
  size?: string
  mimeType?: string
  downloadUri?: string
  checksums?: { sha1?: string; sha256?: string; md5?: string }
  originalChecksums?: { sha1?: string; sha256?: string; md5?: string }
  /** Remote repositories' cached files, once they exist. */
  remoteUrl?: string
  lastUpdated?: string
}

export interface StorageStats {
  downloadCount: number
  lastDownloaded: number
  lastDownloadedBy: string
}

export interface TokenInfo {
  token_id: string
  subject: string
  description: string
  scope: string
  issued_at: number
  expiry?: number
  last_used?: number
}

export interface ReadOnlyState {
  enabled: boolean
  message: string
  updatedAt: string | null
}

export interface UserRecord {
  name: string
  email?: string
  admin: boolean
  disabled?: boolean
  internalPasswordDisabled?: boolean
  [field: string]: unknown
}
