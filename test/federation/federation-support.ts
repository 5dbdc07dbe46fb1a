import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { FORMATS } from '../../src/formats/index.js'
import { createTrove, type Trove } from '../../src/main.js'
import { createTestBlobstore, type TestBlobstore } from '../helpers/blobstore.js'
import { freePort } from '../helpers/ports.js'
import { createTestDatabase, type MetadataBackend, type TestDatabase } from '../helpers/postgres.js'
import { ADMIN_PASSWORD, basicAuth, testConfig } from '../helpers/server.js'

export const ADMIN = basicAuth('admin', ADMIN_PASSWORD)
/** Every member accepts every member's token (each admin lists the others'). */
export const TOKENS = ['federation-token-of-member-a', 'federation-token-of-member-b', 'federation-token-of-member-c', 'federation-token-of-member-d']

/**
 * One Trove instance of a federation: its own data folder, database and blob store, on a port it
 * keeps across restarts (members name each other by URL). `stop()` keeps its data; `start()` again
 * serves it; `destroy()` removes it.
 */
export class Member {
  trove: Trove | undefined
  private constructor(
    readonly name: string,
    readonly index: number,
    readonly port: number,
    readonly dataDir: string,
    readonly backend: MetadataBackend,
    readonly database: TestDatabase | undefined,
    readonly blobstore: TestBlobstore,
    private readonly settings: Record<string, unknown>,
  ) {}

  /** A member, started in this process unless `inProcess` is false (then run it from {@link env}). */
  static async create(index: number, backend: MetadataBackend, settings: Record<string, unknown> = {}, inProcess = true): Promise<Member> {
    const dataDir = await mkdtemp(join(tmpdir(), `trove-federation-${index}-`))
    const database = backend === 'postgres' ? await createTestDatabase() : undefined
    const member = new Member(String.fromCharCode(65 + index), index, await freePort(), dataDir, backend, database, await createTestBlobstore(dataDir), settings)
    if (inProcess) await member.start()
    return member
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  repoUrl(key: string): string {
    return `${this.url}/artifactory/${key}`
  }

  /** The environment of this member as a `trove serve` process (the kill -9 test). */
  get env(): Record<string, string> {
    return {
      TROVE_DATA_DIR: this.dataDir,
      TROVE_PORT: String(this.port),
      ...(this.database ? { TROVE_DATABASE_URL: this.database.url } : {}),
      ...this.blobstore.env,
      TROVE_FEDERATION_TOKEN: TOKENS[this.index]!,
      TROVE_FEDERATION_PEER_TOKENS: TOKENS.join(','),
      TROVE_FEDERATION_INTERVAL_MS: '200',
      TROVE_FEDERATION_FULL_SYNC_INTERVAL_SECS: '0',
      TROVE_FEDERATION_CHUNK_BYTES: String(1024 * 1024),
    }
  }

  async start(): Promise<void> {
    const config = testConfig({
      dataDir: this.dataDir,
      databaseUrl: this.database?.url,
      blobstore: this.blobstore,
      settings: {
        port: this.port,
        ...this.settings,
        federation: { token: TOKENS[this.index], peerTokens: TOKENS, intervalMs: 200, fullSyncIntervalSecs: 0, chunkBytes: 1024 * 1024, ...(this.settings.federation as object | undefined) },
      },
    })
    this.trove = await createTrove({ ...config, port: this.port }, { logger: pino({ level: config.log.level }), formats: FORMATS })
    await this.trove.listen()
  }

  async stop(): Promise<void> {
    await this.trove?.close()
    this.trove = undefined
  }

  async destroy(): Promise<void> {
    await this.stop()
    await this.blobstore.close()
    await this.database?.drop()
    await rm(this.dataDir, { recursive: true, force: true })
  }

  async api(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: ADMIN, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  }

  async put(key: string, path: string, body: string | Buffer): Promise<void> {
    const response = await fetch(`${this.repoUrl(key)}/${path}`, { method: 'PUT', headers: { authorization: ADMIN }, body })
    if (response.status !== 201) throw new Error(`PUT ${path} on ${this.name}: ${response.status} ${await response.text()}`)
  }

  /** The file's bytes as text, or undefined when it is not there. */
  async get(key: string, path: string): Promise<string | undefined> {
    const response = await fetch(`${this.repoUrl(key)}/${path}`, { headers: { authorization: ADMIN } })
    if (response.status === 404) return undefined
    if (response.status !== 200) throw new Error(`GET ${path} on ${this.name}: ${response.status}`)
    return response.text()
  }

  async delete(key: string, path: string): Promise<void> {
    const response = await fetch(`${this.repoUrl(key)}/${path}`, { method: 'DELETE', headers: { authorization: ADMIN } })
    if (response.status !== 204) throw new Error(`DELETE ${path} on ${this.name}: ${response.status}`)
  }

  async status(key: string): Promise<{ members: { url: string; state: string; backlog: number; lagSeconds: number; lastError: string | null; lastFullSync: string | null }[] }> {
    const response = await this.api('GET', `/artifactory/api/federation/status/${key}`)
    if (response.status !== 200) throw new Error(`status on ${this.name}: ${response.status} ${await response.text()}`)
    return (await response.json()) as never
  }

  /** Every file of the repository with its sha256, as the storage API lists them. */
  async listing(key: string): Promise<Record<string, string>> {
    const response = await this.api('GET', `/artifactory/api/storage/${key}/?list&deep=1&listFolders=0`)
    if (response.status !== 200) throw new Error(`list on ${this.name}: ${response.status}`)
    const body = (await response.json()) as { files: { uri: string; sha2?: string; sha256?: string }[] }
    return Object.fromEntries(body.files.map((f) => [f.uri.replace(/^\//, ''), f.sha2 ?? f.sha256 ?? '']))
  }
}

/** Creates `key` on `first` as federated with the others as members (they join through the federation API). */
export async function createFederated(first: Member, others: readonly Member[], key: string, packageType: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return first.api('PUT', `/artifactory/api/repositories/${key}`, {
    rclass: 'federated',
    packageType,
    members: others.map((m) => ({ url: m.repoUrl(key), enabled: true })),
    ...extra,
  })
}

/** Polls `check` until it returns true (bounded: 45 s), else fails with `what`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const until = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < until) {
    try {
      if (await check()) return
    } catch (err) {
      last = err
    }
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

/** Waits until every member lists the same files with the same content; returns the listing. */
export async function converged(key: string, members: readonly Member[], timeoutMs?: number): Promise<Record<string, string>> {
  let listing: Record<string, string> = {}
  let seen: Record<string, string>[] = []
  await eventually(
    `${members.map((m) => m.name).join(', ')} to converge on ${key}`,
    async () => {
      const all = await Promise.all(members.map((m) => m.listing(key)))
      seen = all
      listing = all[0]!
      return all.every((l) => JSON.stringify(sorted(l)) === JSON.stringify(sorted(all[0]!)))
    },
    timeoutMs,
  ).catch(async (err: unknown) => {
    const statuses = await Promise.all(members.map((m) => m.status(key).catch((e: unknown) => String(e))))
    throw new Error(`${String(err)}\nlistings: ${JSON.stringify(seen.map((l) => Object.keys(l).sort()))}\nstatuses: ${JSON.stringify(statuses)}`)
  })
  return listing
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1))
}
