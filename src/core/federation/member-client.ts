import type { Readable } from 'node:stream'
import { request, type Dispatcher } from 'undici'
import type { DigestTree, JoinRequest, ReplicationBatch } from '../../api/federation.js'

/** Header that carries the federation credential between instances (never a user's). */
export const FEDERATION_TOKEN_HEADER = 'x-trove-federation-token'

/** A member's answer that was not a success: its status and the message of its error body. */
export class MemberError extends Error {
  override readonly name = 'MemberError'
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Calls the federation API of one member (`<base>/artifactory/<key>` → `<base>/artifactory/api/federation/…`)
 * with this instance's federation token.
 */
export class MemberClient {
  readonly api: string
  readonly key: string

  constructor(
    readonly url: string,
    private readonly token: string | undefined,
    private readonly dispatcher?: Dispatcher,
  ) {
    const cut = url.lastIndexOf('/')
    this.key = decodeURIComponent(url.slice(cut + 1))
    this.api = `${url.slice(0, cut)}/api/federation`
  }

  join(body: JoinRequest): Promise<{ created: boolean }> {
    return this.json('POST', '/join', body)
  }

  async missing(digests: readonly string[]): Promise<string[]> {
    return (await this.json<{ missing: string[] }>('POST', `/blobs/missing`, { digests })).missing
  }

  putBlob(sha256: string, body: Readable, size: number): Promise<unknown> {
    return this.call('PUT', `/blobs/${sha256}?repo=${encodeURIComponent(this.key)}`, body, size)
  }

  blobSession(sha256: string): Promise<{ id: string; size: number }> {
    return this.json('POST', `/blobs/${sha256}/session?repo=${encodeURIComponent(this.key)}`, {})
  }

  appendBlob(id: string, offset: number, body: Readable, size: number): Promise<{ size: number }> {
    return this.call('PATCH', `/blobs/sessions/${id}?repo=${encodeURIComponent(this.key)}&offset=${offset}`, body, size) as Promise<{ size: number }>
  }

  completeBlob(id: string, sha256: string): Promise<unknown> {
    return this.json('POST', `/blobs/sessions/${id}/complete?repo=${encodeURIComponent(this.key)}&digest=${sha256}`, {})
  }

  changes(batch: ReplicationBatch): Promise<{ applied: number; skipped: number }> {
    return this.json('POST', `/changes/${encodeURIComponent(this.key)}`, batch)
  }

  tree(): Promise<DigestTree> {
    return this.json('GET', `/tree/${encodeURIComponent(this.key)}`)
  }

  async entries(buckets: readonly number[]): Promise<Record<string, string>> {
    return (await this.json<{ entries: Record<string, string> }>('POST', `/entries/${encodeURIComponent(this.key)}`, { buckets })).entries
  }

  private json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.call(method, path, body === undefined ? undefined : JSON.stringify(body)) as Promise<T>
  }

  private async call(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: string | Readable, size?: number): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.token !== undefined) headers[FEDERATION_TOKEN_HEADER] = this.token
    if (typeof body === 'string') headers['content-type'] = 'application/json'
    else if (body !== undefined) {
      headers['content-type'] = 'application/octet-stream'
      if (size !== undefined) headers['content-length'] = String(size)
    }
    const response = await request(`${this.api}${path}`, {
      method,
      headers,
      body,
      headersTimeout: 30_000,
      bodyTimeout: 120_000,
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    })
    const text = await response.body.text()
    if (response.statusCode >= 300) throw new MemberError(response.statusCode, `${this.url} answered ${response.statusCode}: ${errorMessage(text)}`)
    return text === '' ? {} : JSON.parse(text)
  }
}

/** The message of a REST error body (`{"errors":[{"message"}]}`), else the text's start. */
function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { errors?: { message?: string }[] }
    const messages = (parsed.errors ?? []).map((e) => e.message).filter((m): m is string => typeof m === 'string')
    if (messages.length > 0) return messages.join('; ')
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 200) || 'no message'
}
