import type { GitHubProviderConfig } from '../../../config/config.js'
import { TroveError } from '../../errors.js'
import { SsoRefusedError, type AuthorizationCallback, type AuthorizationRequest, type SsoIdentity, type SsoProvider } from './sso-provider.js'

const TIMEOUT_MS = 10_000
/** GitHub's answers here are small JSON documents; anything larger is not one of them. */
const MAX_BODY_BYTES = 1024 * 1024
/** Pages of 100 organisations or teams read at most. */
const MAX_PAGES = 10

/**
 * GitHub's OAuth web flow (not OpenID Connect: no ID token; who signed in is asked of its REST
 * API with the access token). Groups are the user's organisations (`acme`) and teams
 * (`acme/platform`, by slug). The URLs are configurable for GitHub Enterprise Server (and tests).
 */
export class GitHubSsoProvider implements SsoProvider {
  readonly id: string
  readonly name: string
  readonly adminGroups: readonly string[]

  constructor(private readonly config: GitHubProviderConfig) {
    this.id = config.id
    this.name = config.name ?? 'GitHub'
    this.adminGroups = config.adminGroups
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    const url = new URL(this.config.authorizeUrl)
    url.search = new URLSearchParams({
      client_id: this.config.clientId,
      redirect_uri: request.redirectUri,
      scope: this.config.scopes.join(' '),
      state: request.state,
      // GitHub accepts PKCE; a server that ignores it loses nothing, the state check still binds the flow.
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
      allow_signup: 'false',
    }).toString()
    return url
  }

  async complete(callback: AuthorizationCallback): Promise<SsoIdentity> {
    const query = callback.callbackUrl.searchParams
    const error = query.get('error')
    if (error) throw new SsoRefusedError(`${this.name} refused the sign-in: ${error}${query.get('error_description') ? ` (${query.get('error_description')})` : ''}`)
    const code = query.get('code')
    if (!code) throw new SsoRefusedError(`the callback from ${this.name} carries no code`, 'BAD_REQUEST')

    // GitHub answers token errors with 200 and {"error": …} (bad_verification_code for a used or expired code).
    const token = await this.call('POST', this.config.tokenUrl, undefined, {
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret ?? '',
      code,
      redirect_uri: callback.redirectUri,
      code_verifier: callback.codeVerifier,
    })
    if (typeof token.body?.error === 'string' || typeof token.body?.access_token !== 'string') {
      const reason = typeof token.body?.error === 'string' ? `${token.body.error}${typeof token.body.error_description === 'string' ? ` (${token.body.error_description})` : ''}` : `status ${token.status}`
      throw new SsoRefusedError(`${this.name} refused the authorization code: ${reason}`)
    }
    const accessToken = token.body.access_token

    const user = (await this.api(accessToken, '/user')) as Record<string, unknown>
    if (typeof user.id !== 'number' && typeof user.id !== 'string') throw new TroveError('UPSTREAM_UNAVAILABLE', `${this.name} sent a user without an id`)
    const login = typeof user.login === 'string' ? user.login : undefined
    const email = typeof user.email === 'string' && user.email !== '' ? user.email : undefined

    const orgs = (await this.pages(accessToken, '/user/orgs')).flatMap((o) => (typeof o.login === 'string' ? [o.login] : []))
    const teams = (await this.pages(accessToken, '/user/teams')).flatMap((t) => {
      const org = (t.organization as Record<string, unknown> | undefined)?.login
      return typeof org === 'string' && typeof t.slug === 'string' ? [`${org}/${t.slug}`] : []
    })
    const allowed = this.config.allowedOrganizations
    if (allowed.length > 0 && !orgs.some((o) => allowed.some((a) => a.toLowerCase() === o.toLowerCase()))) {
      throw new SsoRefusedError(`${this.name} user '${login ?? user.id}' is not a member of ${allowed.map((a) => `'${a}'`).join(' or ')}, which sign-ins to Trove require (the organisation may also need to grant this OAuth app access)`, 'DENIED')
    }
    return { subject: String(user.id), nameCandidates: [login, email].filter((v): v is string => v !== undefined), email, groups: [...new Set([...orgs, ...teams])] }
  }

  private async api(accessToken: string, path: string): Promise<unknown> {
    const answer = await this.call('GET', `${this.config.apiUrl.replace(/\/$/, '')}${path}`, accessToken)
    if (answer.status !== 200) throw new TroveError('UPSTREAM_UNAVAILABLE', `${this.name} answered ${answer.status} to GET ${path}`)
    return answer.raw
  }

  /** A list endpoint, following `Link: <…>; rel="next"` for a few pages. */
  private async pages(accessToken: string, path: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = []
    let url: string | undefined = `${this.config.apiUrl.replace(/\/$/, '')}${path}?per_page=100`
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const answer = await this.call('GET', url, accessToken)
      if (answer.status !== 200 || !Array.isArray(answer.raw)) throw new TroveError('UPSTREAM_UNAVAILABLE', `${this.name} answered ${answer.status} to GET ${path}`)
      items.push(...(answer.raw as unknown[]).filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null))
      url = /<([^>]+)>;\s*rel="next"/.exec(answer.link ?? '')?.[1]
    }
    return items
  }

  private async call(
    method: 'GET' | 'POST',
    url: string,
    accessToken?: string,
    form?: Record<string, string>,
  ): Promise<{ status: number; raw: unknown; body: Record<string, unknown> | undefined; link: string | null }> {
    let response: Response
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          'user-agent': 'Trove',
          ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: form ? new URLSearchParams(form).toString() : null,
        redirect: 'error',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
    } catch (err) {
      throw new TroveError('UPSTREAM_UNAVAILABLE', `${this.name} cannot be reached at ${new URL(url).origin}: ${(err as Error).message}`, undefined, { cause: err })
    }
    const text = await readLimited(response)
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      throw new TroveError('UPSTREAM_UNAVAILABLE', `${this.name} answered ${method} ${new URL(url).pathname} with something that is not JSON (status ${response.status})`)
    }
    const body = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined
    return { status: response.status, raw, body, link: response.headers.get('link') }
  }
}

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return ''
  const decoder = new TextDecoder()
  let text = ''
  let size = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) {
      await response.body.cancel().catch(() => {})
      throw new TroveError('UPSTREAM_UNAVAILABLE', `an answer of the sign-in provider is larger than ${MAX_BODY_BYTES} bytes`)
    }
    text += decoder.decode(chunk, { stream: true })
  }
  return text + decoder.decode()
}
