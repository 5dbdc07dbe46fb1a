import type { Readable } from 'node:stream'
import { Agent, request as undiciRequest, errors as undiciErrors } from 'undici'
import type { Logger } from 'pino'
import { TroveError } from '../errors.js'
import type { UpstreamHostPolicy } from './upstream-hosts.js'

/** What the client needs to know of a remote repository. */
export interface UpstreamSettings {
  readonly key: string
  /** Base URL of the upstream. */
  readonly url: string
  readonly username?: string | undefined
  /** A password, or an access token (sent as a bearer token when there is no username). */
  readonly password?: string | undefined
  readonly socketTimeoutMs: number
}

export interface UpstreamRequest {
  readonly url: string
  readonly method?: 'GET' | 'HEAD'
  readonly headers?: Readonly<Record<string, string>>
  readonly signal?: AbortSignal | undefined
}

export interface UpstreamResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** Consume or destroy it. */
  readonly body: Readable
  /** After redirects. */
  readonly url: string
}

const MAX_REDIRECTS = 5
const DEFAULT_TOKEN_TTL_SECS = 60

/**
 * HTTP to upstream registries: timeouts, redirects (each hop checked by the host policy, and
 * credentials never sent to another origin), Basic and bearer credentials, and the registry token
 * dance (a 401 with `WWW-Authenticate: Bearer realm=…` is answered by fetching a token from the
 * realm, with the configured credentials or anonymously, and retrying once).
 */
export class UpstreamClient {
  private readonly agent: Agent
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>()

  constructor(
    private readonly policy: UpstreamHostPolicy,
    private readonly logger: Logger,
  ) {
    this.agent = new Agent({ connect: { lookup: policy.lookup, timeout: 10_000 }, keepAliveTimeout: 30_000 })
  }

  async request(upstream: UpstreamSettings, req: UpstreamRequest): Promise<UpstreamResponse> {
    const origin = new URL(upstream.url).origin
    let url = req.url
    let challengeAnswered = false
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const isSameOrigin = new URL(url).origin === origin
      // identity: what is cached must be the bytes the upstream's checksums describe, not a re-encoding.
      const headers: Record<string, string> = { 'user-agent': 'trove', 'accept-encoding': 'identity', ...req.headers }
      if (isSameOrigin) Object.assign(headers, this.authorization(upstream, url))
      const response = await this.send(upstream, url, req.method ?? 'GET', headers, req.signal)
      if (response.status >= 300 && response.status < 400 && response.headers.location) {
        discard(response.body)
        url = new URL(response.headers.location, url).toString()
        continue
      }
      if (response.status === 401 && isSameOrigin && !challengeAnswered) {
        const challenge = parseBearerChallenge(response.headers['www-authenticate'])
        if (challenge) {
          discard(response.body)
          await this.fetchToken(upstream, challenge, req.signal)
          challengeAnswered = true
          hop--
          continue
        }
      }
      return { ...response, url }
    }
    throw new TroveError('UPSTREAM_UNAVAILABLE', `upstream ${upstream.url} redirected more than ${MAX_REDIRECTS} times`)
  }

  async close(): Promise<void> {
    await this.agent.close()
  }

  private authorization(upstream: UpstreamSettings, url: string): Record<string, string> {
    const token = this.tokens.get(tokenKey(upstream, url))
    if (token && token.expiresAt > Date.now()) return { authorization: `Bearer ${token.token}` }
    if (upstream.username && upstream.password !== undefined) {
      return { authorization: `Basic ${Buffer.from(`${upstream.username}:${upstream.password}`).toString('base64')}` }
    }
    if (upstream.password) return { authorization: `Bearer ${upstream.password}` }
    return {}
  }

  private async fetchToken(upstream: UpstreamSettings, challenge: BearerChallenge, signal: AbortSignal | undefined): Promise<void> {
    const realm = new URL(challenge.realm)
    if (challenge.service) realm.searchParams.set('service', challenge.service)
    if (challenge.scope) realm.searchParams.set('scope', challenge.scope)
    const headers: Record<string, string> = { 'user-agent': 'trove' }
    if (upstream.username && upstream.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${upstream.username}:${upstream.password}`).toString('base64')}`
    }
    const response = await this.send(upstream, realm.toString(), 'GET', headers, signal)
    const text = await readSmall(response.body, 1024 * 1024)
    if (response.status !== 200) {
      throw new TroveError('UPSTREAM_UNAVAILABLE', `upstream token service ${realm.origin} refused the login (${response.status})`)
    }
    let body: { token?: string; access_token?: string; expires_in?: number }
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      throw new TroveError('UPSTREAM_UNAVAILABLE', `upstream token service ${realm.origin} answered with something that is not JSON`)
    }
    const token = body.token ?? body.access_token
    if (!token) throw new TroveError('UPSTREAM_UNAVAILABLE', `upstream token service ${realm.origin} returned no token`)
    const ttl = Math.max(10, (body.expires_in ?? DEFAULT_TOKEN_TTL_SECS) - 5)
    // Keyed by repository and origin: one token serves the scopes a pull needs in practice.
    this.tokens.set(tokenKey(upstream, upstream.url), { token, expiresAt: Date.now() + ttl * 1000 })
  }

  private async send(
    upstream: UpstreamSettings,
    url: string,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Omit<UpstreamResponse, 'url'>> {
    const refusal = this.policy.refusalOf(url)
    if (refusal) throw new UpstreamRefusedError(upstream, url, refusal)
    try {
      const response = await undiciRequest(url, {
        method,
        headers,
        signal,
        dispatcher: this.agent,
        headersTimeout: upstream.socketTimeoutMs,
        bodyTimeout: upstream.socketTimeoutMs,
      })
      const flat: Record<string, string> = {}
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value
      }
      return { status: response.statusCode, headers: flat, body: response.body }
    } catch (err) {
      throw describeFailure(upstream, url, err)
    }
  }
}

/** A failure to talk to the upstream at all (as opposed to an HTTP error status). */
export class UpstreamFailure extends TroveError {
  constructor(
    readonly isTimeout: boolean,
    message: string,
    options?: ErrorOptions,
  ) {
    super('UPSTREAM_UNAVAILABLE', message, { timeout: isTimeout }, options)
  }
}

/**
 * A request the host policy refused: the URL (a redirect, a token realm, a file URL an index
 * named) reaches an address that is not allowed. It says nothing about the upstream being up,
 * so it fails that request only.
 */
export class UpstreamRefusedError extends UpstreamFailure {
  constructor(upstream: UpstreamSettings, url: string, why: string, options?: ErrorOptions) {
    super(false, `'${upstream.key}' may not connect to ${new URL(url).origin} (for ${url}): ${why}`, options)
  }
}

/**
 * The error to report for a failed exchange with an upstream (connecting, waiting, or reading the
 * body): an {@link UpstreamFailure} naming the upstream, or the abort itself when it was aborted.
 */
export function describeFailure(upstream: UpstreamSettings, url: string, err: unknown): Error {
  if (err instanceof TroveError) return err
  if ((err as { name?: string }).name === 'AbortError') return err as Error
  const where = `upstream ${new URL(url).origin} of '${upstream.key}'`
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return new UpstreamFailure(true, `${where} did not answer within ${upstream.socketTimeoutMs} ms`, { cause: err })
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause
  const code = (err as { code?: string }).code ?? cause?.code
  if (code === 'EUPSTREAMFORBIDDEN') return new UpstreamRefusedError(upstream, url, cause?.message ?? (err as Error).message, { cause: err })
  return new UpstreamFailure(false, `${where} failed: ${(err as Error).message}${code ? ` (${code})` : ''}`, { cause: err })
}

interface BearerChallenge {
  readonly realm: string
  readonly service?: string | undefined
  readonly scope?: string | undefined
}

/** Parses `Bearer realm="…",service="…",scope="…"` (RFC 6750 §3, as registries send it). */
export function parseBearerChallenge(header: string | undefined): BearerChallenge | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined
  const params: Record<string, string> = {}
  for (const match of header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/gi)) params[match[1]!.toLowerCase()] = match[2]!
  if (!params.realm) return undefined
  return { realm: params.realm, service: params.service, scope: params.scope }
}

function tokenKey(upstream: UpstreamSettings, url: string): string {
  return `${upstream.key}\0${new URL(url).origin}`
}

/**
 * Drops a response body that will not be read. undici reports destroying an unread body as an
 * error event ("Request aborted"), which would crash the process without a listener.
 */
export function discard(body: Readable): void {
  body.on('error', () => {})
  body.destroy()
}

/** Reads a small body (token responses, error pages) with a hard cap. */
export async function readSmall(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > limit) {
      body.destroy()
      throw new TroveError('UPSTREAM_UNAVAILABLE', `upstream response is larger than ${limit} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
