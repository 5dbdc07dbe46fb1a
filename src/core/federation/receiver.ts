import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { JoinRequest, ReplicatedFile, ReplicationBatch } from '../../api/federation.js'
import type { Database } from '../../metadata/schema.js'
import type { ArtifactService, AssetChanges } from '../artifacts/artifact-service.js'
import type { BlobInfo, BlobStore } from '../blobs/blob-store.js'
import { CHECKSUM_PATTERNS } from '../digest.js'
import { TroveError, invalidField } from '../errors.js'
import { assertArtifactPath } from '../paths.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'
import type { UploadService } from '../uploads/upload-service.js'
import { parseStamp, type HybridClock } from './clock.js'
import type { FederationDb, FederationTrx } from './tables.js'
import { bucketOf, enabledMembers, isFederated, normalizeUrl, writeVersions } from './versions.js'

/** Told after a replicated file is applied, so that formats can regenerate what they derive from files. */
export type AppliedListener = (repository: Repository, path: string, change: 'deployed' | 'deleted') => void

const hex = (algorithm: keyof typeof CHECKSUM_PATTERNS) => z.string().regex(CHECKSUM_PATTERNS[algorithm])
const FileSchema = z.object({
  path: z.string().min(1).max(4096),
  hlc: z.string().refine((s) => parseStamp(s) !== undefined, 'not a clock stamp'),
  deleted: z.boolean(),
  blob: z.object({ sha256: hex('sha256'), sha1: hex('sha1'), md5: hex('md5'), size: z.number().int().nonnegative() }).optional(),
  contentType: z.string().max(255).optional(),
  properties: z.record(z.string(), z.array(z.string())).optional(),
})
const BatchSchema = z.object({ from: z.string().min(1).max(64), files: z.array(FileSchema).max(1000) })
const JoinSchema = z.object({
  key: z.string(),
  packageType: z.string(),
  config: z.record(z.string(), z.unknown()),
  members: z.array(z.url()).max(64),
  you: z.url(),
  dryRun: z.boolean().optional(),
})

/** Thrown inside a change's transaction when a newer version of a file is already here: the change is undone. */
class StaleChange extends Error {}

/**
 * The receiving side of federation: blobs (whole, or resumable through the core's upload
 * sessions), then changes, applied idempotently: a file changes only when the incoming clock stamp
 * is greater than the one recorded here, in the same transaction as the file, and never goes back
 * into this instance's outbox (no echo). Joining creates or joins the repository.
 */
export class FederationReceiver {
  private readonly listeners: AppliedListener[] = []

  constructor(
    private readonly deps: {
      readonly db: Kysely<Database>
      readonly artifacts: ArtifactService
      readonly blobs: BlobStore
      readonly uploads: UploadService
      readonly repositories: RepositoryService
      readonly clock: HybridClock
    },
  ) {}

  private get db(): FederationDb {
    return this.deps.db as unknown as FederationDb
  }

  onApplied(listener: AppliedListener): void {
    this.listeners.push(listener)
  }

  /** The federated repository `key`, or CONFLICT when the repository here is not federated. */
  async federated(key: string): Promise<Repository> {
    const repository = await this.deps.repositories.require(key)
    if (!isFederated(repository)) throw new TroveError('CONFLICT', `repository '${key}' here is a ${repository.config.rclass} repository, not a federated one`)
    return repository
  }

  /** Applies a batch of files (each only if newer than what is here); returns how many changed. */
  async apply(key: string, body: unknown): Promise<{ applied: number; skipped: number }> {
    const repository = await this.federated(key)
    const parsed = BatchSchema.safeParse(body)
    if (!parsed.success) throw new TroveError('BAD_REQUEST', `not a replication batch: ${parsed.error.issues[0]?.message ?? 'invalid'} at ${parsed.error.issues[0]?.path.join('.')}`)
    const batch = parsed.data as ReplicationBatch
    for (const file of batch.files) {
      assertArtifactPath(file.path)
      if (!file.deleted && !file.blob) throw new TroveError('BAD_REQUEST', `'${file.path}': a file that is not deleted needs its blob`)
      this.deps.clock.observe(file.hlc)
    }
    for (const file of batch.files) {
      if (file.blob && !(await this.deps.blobs.exists(file.blob.sha256))) {
        throw new TroveError('BLOB_UNKNOWN', `blob sha256:${file.blob.sha256} of '${file.path}' is not here: send blobs first`)
      }
    }
    // Newer than here, as far as can be told before the transaction (checked again inside it).
    const known = await this.versionsOf(key, batch.files.map((f) => f.path))
    const newer = latestPerPath(batch.files).filter((f) => (known.get(f.path) ?? '') < f.hlc)
    if (newer.length === 0) return { applied: 0, skipped: batch.files.length }
    try {
      await this.applyFiles(repository, newer, batch.from)
    } catch (err) {
      if (!(err instanceof StaleChange)) throw err
      // A newer version arrived meanwhile for one of them: one by one, each against its own.
      let applied = 0
      for (const file of newer) {
        try {
          await this.applyFiles(repository, [file], batch.from)
          applied += 1
        } catch (inner) {
          if (!(inner instanceof StaleChange)) throw inner
        }
      }
      return { applied, skipped: batch.files.length - applied }
    }
    return { applied: newer.length, skipped: batch.files.length - newer.length }
  }

  private async versionsOf(key: string, paths: readonly string[]): Promise<Map<string, string>> {
    const known = new Map<string, string>()
    for (let i = 0; i < paths.length; i += 200) {
      const rows = await this.db.selectFrom('federation_versions').select(['path', 'hlc']).where('repo_key', '=', key).where('path', 'in', paths.slice(i, i + 200)).execute()
      for (const row of rows) known.set(row.path, row.hlc)
    }
    return known
  }

  private async applyFiles(repository: Repository, files: readonly ReplicatedFile[], from: string): Promise<void> {
    const key = repository.key
    const changes: AssetChanges = {
      removeFiles: files.filter((f) => f.deleted).map((f) => f.path),
      put: files.filter((f) => !f.deleted).map((f) => ({ path: f.path, blob: f.blob as BlobInfo, contentType: f.contentType ?? 'application/octet-stream' })),
    }
    const now = Date.now()
    await this.deps.artifacts.applyChanges(
      repository,
      changes,
      `federation:${from}`,
      async (change) => {
        const trx = change as unknown as FederationTrx
        const known = await trx.selectFrom('federation_versions').select(['path', 'hlc']).where('repo_key', '=', key).where('path', 'in', files.map((f) => f.path)).execute()
        const here = new Map(known.map((row) => [row.path, row.hlc]))
        if (files.some((f) => (here.get(f.path) ?? '') >= f.hlc)) throw new StaleChange()
        await writeVersions(
          trx,
          files.map((f) => ({ repo_key: key, path: f.path, bucket: bucketOf(f.path), hlc: f.hlc, sha256: f.blob?.sha256 ?? null, deleted: f.deleted ? 1 : 0, updated_at: now })),
        )
        for (const file of files) {
          if (file.deleted) continue
          await trx.deleteFrom('properties').where('repo_key', '=', key).where('path', '=', file.path).execute()
          const rows = Object.entries(file.properties ?? {}).flatMap(([name, values]) => [...new Set(values)].map((value) => ({ repo_key: key, path: file.path, name, value })))
          if (rows.length > 0) await trx.insertInto('properties').values(rows).execute()
        }
      },
      { replicated: true },
    )
    for (const file of files) for (const listener of this.listeners) listener(repository, file.path, file.deleted ? 'deleted' : 'deployed')
  }

  /** Which of `digests` this instance's blob store lacks. */
  async missing(body: unknown): Promise<string[]> {
    const parsed = z.object({ digests: z.array(hex('sha256')).max(1000) }).safeParse(body)
    if (!parsed.success) throw new TroveError('BAD_REQUEST', 'expected {"digests": [sha256, …]}')
    const missing: string[] = []
    for (const digest of new Set(parsed.data.digests)) if (!(await this.deps.blobs.exists(digest))) missing.push(digest)
    return missing
  }

  /** Stores a whole blob, verified against `sha256` while it streams (DIGEST_INVALID and nothing kept otherwise). */
  async putBlob(key: string, sha256: string, body: Readable): Promise<void> {
    await this.federated(key)
    assertDigest(sha256)
    await this.deps.blobs.put(body, { expected: { sha256 } })
  }

  /** The resumable transfer of a large blob: its open session (made on first call) and the bytes it holds. */
  async blobSession(key: string, sha256: string): Promise<{ id: string; size: number }> {
    const repository = await this.federated(key)
    assertDigest(sha256)
    const subject = `federation:${sha256}`
    const open = await this.deps.db.selectFrom('upload_sessions').select('id').where('repo_key', '=', key).where('subject', '=', subject).orderBy('created_at').executeTakeFirst()
    const session = (open && (await this.deps.uploads.get(open.id))) ?? (await this.deps.uploads.start(repository, subject, 'federation'))
    return { id: session.id, size: session.size }
  }

  async appendBlob(key: string, id: string, offset: number, body: Readable): Promise<{ size: number }> {
    const repository = await this.federated(key)
    const session = await this.session(key, id)
    return { size: (await this.deps.uploads.append(repository, session, body, { start: offset })).size }
  }

  async completeBlob(key: string, id: string, sha256: string): Promise<void> {
    const repository = await this.federated(key)
    const session = await this.session(key, id)
    await this.deps.uploads.complete(repository, session, sha256, undefined, {}, async () => {})
  }

  private async session(key: string, id: string) {
    const session = await this.deps.uploads.get(id)
    if (!session || session.repoKey !== key) throw new TroveError('NOT_FOUND', `no blob transfer ${id} in '${key}'`)
    return session
  }

  /**
   * Creates the repository here as a member of the federation, or joins the one of that key, which
   * must be federated and of the same package type; `dryRun` only checks.
   */
  async join(body: unknown): Promise<{ created: boolean }> {
    const parsed = JoinSchema.safeParse(body)
    if (!parsed.success) throw new TroveError('BAD_REQUEST', `not a join request: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
    const request = parsed.data as JoinRequest
    const you = normalizeUrl(request.you)
    const others = [...new Set(request.members.map(normalizeUrl))].filter((url) => url !== you)
    const existing = await this.deps.repositories.get(request.key)
    if (existing) {
      if (!isFederated(existing) || existing.packageType !== request.packageType) {
        throw invalidField(
          'members',
          `repository '${request.key}' at ${you} is a ${existing.config.rclass} ${existing.packageType} repository; a member of a federated ${request.packageType} repository must be a federated ${request.packageType} repository of the same key`,
          'CONFLICT',
        )
      }
      if (request.dryRun) return { created: false }
      const mine = enabledMembers(existing)
      const configured = Array.isArray(existing.config.members) ? (existing.config.members as { url: string; enabled?: boolean }[]) : []
      const added = others.filter((url) => !mine.includes(url) && !configured.some((m) => normalizeUrl(m.url) === url))
      if (added.length > 0) await this.deps.repositories.update(request.key, { members: [...configured, ...added.map((url) => ({ url, enabled: true }))] })
      return { created: false }
    }
    const config = { ...request.config, key: request.key, rclass: 'federated', packageType: request.packageType, members: others.map((url) => ({ url, enabled: true })) }
    if (request.dryRun) {
      await this.deps.repositories.check(request.key, config)
      return { created: false }
    }
    await this.deps.repositories.create(request.key, config)
    return { created: true }
  }
}

function assertDigest(sha256: string): void {
  if (!CHECKSUM_PATTERNS.sha256.test(sha256)) throw new TroveError('DIGEST_INVALID', `not a sha256 digest: ${sha256}`)
}

/** One file per path: the one with the greatest stamp. */
function latestPerPath(files: readonly ReplicatedFile[]): ReplicatedFile[] {
  const latest = new Map<string, ReplicatedFile>()
  for (const file of files) if ((latest.get(file.path)?.hlc ?? '') < file.hlc) latest.set(file.path, file)
  return [...latest.values()]
}
