import type { Readable } from 'node:stream'
import { z } from 'zod'
import { discard, notFound, type Repository, type RepositorySetting, type ResolutionCaller, type ResolutionEngine, TroveError, type UpstreamClient } from '../../core/index.js'

/** The remote's checksum database: its URL, and the name go asks for (`GOSUMDB`'s name, the URL's host when not set). */
export const SUMDB_URL_FIELD = 'goSumdbUrl'
export const SUMDB_NAME_FIELD = 'goSumdbName'

export const SUMDB_SETTINGS: readonly RepositorySetting[] = [
  {
    name: SUMDB_URL_FIELD,
    label: 'Checksum database URL',
    help: 'The Go checksum database this remote proxies at <repo>/sumdb/<name>/ (supported, lookup, tile, latest), so that GOSUMDB keeps working through Trove.',
    kinds: ['remote'],
    type: 'string',
    schema: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }),
  },
  {
    name: SUMDB_NAME_FIELD,
    label: 'Checksum database name',
    help: "The database's name as GOSUMDB gives it (its key's name); the URL's host name when empty.",
    kinds: ['remote'],
    type: 'string',
    schema: z.string().regex(/^[A-Za-z0-9.-]+$/, 'a host-like name'),
  },
]

/** One sumdb request: the database name and the rest of the path (`supported`, `latest`, `lookup/M@V`, `tile/H/L/K[.p/W]`). */
export interface SumdbRequest {
  readonly name: string
  readonly rest: string
}

export function parseSumdbPath(path: string): SumdbRequest | undefined {
  const match = /^sumdb\/([^/]+)\/(.+)$/.exec(path)
  if (!match) return undefined
  const rest = match[2]!
  if (rest.split('/').some((s) => s === '' || s === '.' || s === '..')) return undefined
  if (!/^(?:supported|latest|lookup\/.+|tile\/[0-9]+\/[0-9]+\/.+)$/.test(rest)) return undefined
  return { name: match[1]!, rest }
}

/** What the sumdb proxy answers: the upstream's status, type and body (streamed). */
export interface SumdbAnswer {
  readonly status: number
  readonly contentType: string
  readonly body: Readable | string
}

/**
 * The checksum-database proxy of https://go.dev/ref/mod#checksum-database: go asks each GOPROXY
 * entry for `<proxy>/sumdb/<name>/supported` and, on a 200, sends its `lookup`, `tile` and
 * `latest` requests there instead of to the database. A remote repository with `goSumdbUrl`
 * forwards them to that URL (a virtual: its first remote member that has one); the answers are
 * signed by the database, so go verifies them whoever relays them. Nothing is cached.
 */
export class SumdbProxy {
  constructor(
    private readonly upstream: UpstreamClient,
    private readonly resolution: ResolutionEngine,
  ) {}

  async answer(repository: Repository, request: SumdbRequest, caller: ResolutionCaller, signal?: AbortSignal): Promise<SumdbAnswer> {
    const remote = await this.remoteFor(repository, request.name, caller)
    if (!remote) throw notFound(`'${repository.key}' proxies no checksum database named '${request.name}'`)
    if (request.rest === 'supported') return { status: 200, contentType: 'text/plain; charset=utf-8', body: '' }
    const base = String(remote.config[SUMDB_URL_FIELD]).replace(/\/+$/, '')
    const url = `${base}/${request.rest}`
    const response = await this.upstream.request(
      { key: remote.key, url: base, socketTimeoutMs: Number(remote.config.socketTimeoutMillis ?? 15_000) },
      { url, signal },
    )
    if (response.status === 200) return { status: 200, contentType: response.headers['content-type'] ?? 'text/plain; charset=utf-8', body: response.body }
    discard(response.body)
    if (response.status === 404 || response.status === 410) throw notFound(`the checksum database of '${remote.key}' has no ${request.rest}`)
    throw new TroveError('UPSTREAM_UNAVAILABLE', `the checksum database of '${remote.key}' answered ${response.status} for ${request.rest}`)
  }

  private async remoteFor(repository: Repository, name: string, caller: ResolutionCaller): Promise<Repository | undefined> {
    for await (const { repository: member } of this.resolution.members(repository, {}, caller)) {
      if (member.rclass === 'remote' && sumdbNameOf(member) === name) return member
    }
    return undefined
  }
}

function sumdbNameOf(repository: Repository): string | undefined {
  const url = repository.config[SUMDB_URL_FIELD]
  if (typeof url !== 'string' || url === '') return undefined
  const name = repository.config[SUMDB_NAME_FIELD]
  if (typeof name === 'string' && name !== '') return name
  try {
    return new URL(url).hostname
  } catch {
    return undefined
  }
}
