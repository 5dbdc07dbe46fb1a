import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { Gauge, type Registry } from 'prom-client'
import type { FederationMemberStatus, FederationStatus, MemberState } from '../../api/federation.js'
import type { Database } from '../../metadata/schema.js'
import type { ArtifactService } from '../artifacts/artifact-service.js'
import type { BlobStore } from '../blobs/blob-store.js'
import { TroveError, invalidField } from '../errors.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'
import type { UploadService } from '../uploads/upload-service.js'
import { HybridClock } from './clock.js'
import { reconcile } from './full-sync.js'
import { FederationReceiver } from './receiver.js'
import { MemberDelivery, type FederationSettings } from './sender.js'
import type { FederationDb } from './tables.js'
import { FederationRecorder, enabledMembers, isFederated, normalizeUrl } from './versions.js'

const INSTANCE_SETTING = 'federation.instance'

/**
 * Federated repositories (docs/federation.md): the same repository on several instances, each
 * writable, kept identical at the core's asset level. Changes are recorded in their own
 * transaction (FederationRecorder), delivered to each member (MemberDelivery), applied there
 * (FederationReceiver) by last writer wins on a hybrid logical clock, and members are compared in
 * full now and then (full-sync.ts).
 */
export class FederationService {
  readonly receiver: FederationReceiver
  private readonly delivery: MemberDelivery
  private readonly active = new Map<string, Promise<void>>()
  private readonly again = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private isStopped = false

  private constructor(
    private readonly deps: {
      readonly db: Kysely<Database>
      readonly repositories: RepositoryService
      readonly settings: FederationSettings
      readonly logger: Logger
    },
    readonly clock: HybridClock,
    artifacts: ArtifactService,
    blobs: BlobStore,
    uploads: UploadService,
  ) {
    this.receiver = new FederationReceiver({ db: deps.db, artifacts, blobs, uploads, repositories: deps.repositories, clock })
    this.delivery = new MemberDelivery({ db: this.db, blobs, settings: deps.settings, instanceId: clock.instanceId, logger: deps.logger })
    artifacts.addRecorder(new FederationRecorder(clock, (key) => this.wake(key)))
  }

  /** Reads (or makes) this instance's federation id, and starts the clock past every stamp already recorded. */
  static async open(deps: FederationService['deps'] & { readonly artifacts: ArtifactService; readonly blobs: BlobStore; readonly uploads: UploadService }): Promise<FederationService> {
    const { db } = deps
    const candidate = randomBytes(6).toString('hex')
    await db.insertInto('settings').values({ name: INSTANCE_SETTING, value: candidate, updated_at: Date.now() }).onConflict((oc) => oc.column('name').doNothing()).execute()
    const id = (await db.selectFrom('settings').select('value').where('name', '=', INSTANCE_SETTING).executeTakeFirstOrThrow()).value
    const clock = new HybridClock(id)
    const latest = await (db as unknown as FederationDb).selectFrom('federation_versions').select((eb) => eb.fn.max('hlc').as('hlc')).executeTakeFirst()
    if (latest?.hlc) clock.observe(String(latest.hlc))
    return new FederationService(deps, clock, deps.artifacts, deps.blobs, deps.uploads)
  }

  private get db(): FederationDb {
    return this.deps.db as unknown as FederationDb
  }

  /** Starts delivering: every `intervalMs`, and at once after each change. */
  start(): void {
    // A pass that fails (the database unreachable for a while) is logged and tried at the next tick;
    // left unhandled, its rejection would end the process.
    this.timer = setInterval(() => void this.passAll().catch((err: unknown) => this.deps.logger.warn({ err }, 'federation pass failed')), this.deps.settings.intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    this.isStopped = true
    clearInterval(this.timer)
    await Promise.allSettled([...this.active.values()])
  }

  /** Creates a federated repository here and on each enabled member (joining theirs when it exists); refuses all if one member refuses. */
  async create(key: string, body: Record<string, unknown>, selfUrl: string): Promise<Repository> {
    await this.deps.repositories.check(key, body)
    const members = Array.isArray(body.members) ? (body.members as { url: string; enabled?: boolean }[]).filter((m) => m.enabled !== false).map((m) => normalizeUrl(m.url)) : []
    const { members: _members, ...config } = body
    const everyone = [normalizeUrl(selfUrl), ...members]
    for (const dryRun of [true, false]) {
      for (const url of members) {
        try {
          await this.delivery.client(url).join({ key, packageType: String(body.packageType).toLowerCase(), config, members: everyone, you: url, dryRun })
        } catch (err) {
          throw invalidField('members', `members: ${url} refused to join: ${(err as Error).message}`, 'CONFLICT')
        }
      }
    }
    const repository = await this.deps.repositories.create(key, body)
    this.wake(key)
    return repository
  }

  /** Sends what is owed for one repository soon (coalesced: at most one pass per repository at a time). */
  wake(key: string): void {
    if (this.isStopped) return
    if (this.active.has(key)) {
      this.again.add(key)
      return
    }
    const pass = this.pass(key)
      .catch((err: unknown) => this.deps.logger.warn({ err, repo: key }, 'federation pass failed'))
      .finally(() => {
        this.active.delete(key)
        if (this.again.delete(key)) this.wake(key)
      })
    this.active.set(key, pass)
  }

  private async passAll(): Promise<void> {
    const federated = await this.deps.repositories.list({ rclass: 'federated' })
    await this.pruneTombstones()
    for (const repository of federated) this.wake(repository.key)
  }

  private async pass(key: string): Promise<void> {
    const repository = await this.deps.repositories.get(key)
    if (!repository || !isFederated(repository)) return
    const fullSyncMs = this.deps.settings.fullSyncIntervalSecs * 1000
    for (const url of enabledMembers(repository)) {
      await this.delivery.ensureMember(key, url)
      const member = await this.db.selectFrom('federation_members').selectAll().where('repo_key', '=', key).where('url', '=', url).executeTakeFirstOrThrow()
      if (member.paused === 1) continue
      try {
        const isDue = member.full_sync_wanted === 1 || (fullSyncMs > 0 && Date.now() - (member.last_full_sync_at ?? 0) >= fullSyncMs)
        if (isDue) {
          const owed = await reconcile(this.db, key, url, this.delivery.client(url))
          await this.db.updateTable('federation_members').set({ last_full_sync_at: Date.now(), full_sync_wanted: 0, last_error: null, last_error_at: null }).where('repo_key', '=', key).where('url', '=', url).execute()
          if (owed > 0) this.deps.logger.info({ repo: key, member: url, owed }, 'full sync: member owed paths again')
        }
        if (await this.delivery.deliver(repository, url)) this.again.add(key)
      } catch (err) {
        await this.delivery.recordError(key, url, err)
      }
    }
  }

  private async pruneTombstones(): Promise<void> {
    const before = Date.now() - this.deps.settings.tombstoneDays * 24 * 3600 * 1000
    await this.db.deleteFrom('federation_versions').where('deleted', '=', 1).where('updated_at', '<', before).execute()
  }

  /** Each member's state, backlog, lag, last error and last full sync. */
  async status(key: string): Promise<FederationStatus> {
    const repository = await this.receiver.federated(key)
    const configured = Array.isArray(repository.config.members) ? (repository.config.members as { url: string; enabled?: boolean }[]) : []
    const rows = new Map((await this.db.selectFrom('federation_members').selectAll().where('repo_key', '=', key).execute()).map((r) => [r.url, r]))
    const owed = await this.db
      .selectFrom('federation_outbox')
      .select((eb) => ['member', eb.fn.countAll<number>().as('count'), eb.fn.min('created_at').as('oldest')])
      .where('repo_key', '=', key)
      .groupBy('member')
      .execute()
    const backlog = new Map(owed.map((o) => [o.member, { count: Number(o.count), oldest: Number(o.oldest) }]))
    const now = Date.now()
    const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(Number(ms)).toISOString())
    const members: FederationMemberStatus[] = configured.map((m) => {
      const url = normalizeUrl(m.url)
      const row = rows.get(url)
      const owedHere = backlog.get(url)
      const enabled = m.enabled !== false
      const state: MemberState = !enabled ? 'disabled' : row?.paused === 1 ? 'paused' : row?.last_error ? 'failing' : owedHere || row?.full_sync_wanted === 1 ? 'pending' : 'ok'
      return {
        url,
        enabled,
        state,
        backlog: owedHere?.count ?? 0,
        lagSeconds: owedHere ? Math.max(0, (now - owedHere.oldest) / 1000) : 0,
        lastError: row?.last_error ?? null,
        lastErrorAt: iso(row?.last_error_at),
        lastSentAt: iso(row?.last_sent_at),
        lastFullSync: iso(row?.last_full_sync_at),
        backlogOverflowedAt: iso(row?.overflowed_at),
      }
    })
    return { repo: key, instance: this.clock.instanceId, members }
  }

  /** Pauses (or resumes) delivery to a member; its changes keep being recorded in its backlog. */
  async setPaused(key: string, url: string, paused: boolean): Promise<void> {
    const member = await this.member(key, url)
    await this.delivery.ensureMember(key, member)
    await this.db.updateTable('federation_members').set({ paused: paused ? 1 : 0 }).where('repo_key', '=', key).where('url', '=', member).execute()
    if (!paused) this.wake(key)
  }

  /** Compares the repository with every member (or one) in full, now. */
  async requestFullSync(key: string, url?: string): Promise<void> {
    const repository = await this.receiver.federated(key)
    const members = url === undefined ? enabledMembers(repository) : [await this.member(key, url)]
    for (const member of members) {
      await this.delivery.ensureMember(key, member)
      await this.db.updateTable('federation_members').set({ full_sync_wanted: 1 }).where('repo_key', '=', key).where('url', '=', member).execute()
    }
    this.wake(key)
  }

  /** Removes a member from this instance's configuration, with its backlog. */
  async removeMember(key: string, url: string): Promise<void> {
    const member = await this.member(key, url)
    const repository = await this.receiver.federated(key)
    const configured = (repository.config.members as { url: string }[]).filter((m) => normalizeUrl(m.url) !== member)
    await this.deps.repositories.update(key, { members: configured })
    await this.db.deleteFrom('federation_outbox').where('repo_key', '=', key).where('member', '=', member).execute()
    await this.db.deleteFrom('federation_members').where('repo_key', '=', key).where('url', '=', member).execute()
  }

  private async member(key: string, url: string): Promise<string> {
    const repository = await this.receiver.federated(key)
    const wanted = normalizeUrl(url)
    const configured = Array.isArray(repository.config.members) ? (repository.config.members as { url: string }[]).map((m) => normalizeUrl(m.url)) : []
    if (!configured.includes(wanted)) throw new TroveError('NOT_FOUND', `'${url}' is not a member of '${key}'`)
    return wanted
  }

  /** `trove_federation_lag_seconds{repo,member}` and `trove_federation_backlog{repo,member}`, read at each scrape. */
  registerMetrics(registry: Registry): void {
    const collect = async (pick: (m: FederationMemberStatus) => number, gauge: Gauge<'repo' | 'member'>) => {
      gauge.reset()
      for (const repository of await this.deps.repositories.list({ rclass: 'federated' })) {
        for (const member of (await this.status(repository.key)).members) gauge.set({ repo: repository.key, member: member.url }, pick(member))
      }
    }
    new Gauge({
      name: 'trove_federation_lag_seconds',
      help: 'Age of the oldest change a federation member has not acknowledged',
      labelNames: ['repo', 'member'] as const,
      registers: [registry],
      async collect() {
        await collect((m) => m.lagSeconds, this)
      },
    })
    new Gauge({
      name: 'trove_federation_backlog',
      help: 'Changed paths a federation member has not acknowledged',
      labelNames: ['repo', 'member'] as const,
      registers: [registry],
      async collect() {
        await collect((m) => m.backlog, this)
      },
    })
  }
}
