import { sql, type Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { MetadataStore } from '../../metadata/database.js'
import type { Database } from '../../metadata/schema.js'

/** The PostgreSQL channel every node listens on; a notification's payload is the topic. */
export const CHANGE_CHANNEL = 'trove_cluster_changes'

/** Topics of cluster-wide state. Subscribers re-read the state; a change carries no data. */
export type ChangeTopic = 'system.read-only' | 'system.offline' | 'repositories' | (string & {})

export interface ChangeFeedTimings {
  /** How often the `cluster_changes` counters are read: the fallback when a notification is lost. */
  readonly pollMs: number
  /** How long to wait before listening again after the notification connection failed. */
  readonly relistenMs: number
}

const DEFAULT_TIMINGS: ChangeFeedTimings = { pollMs: 500, relistenMs: 2000 }

/**
 * Tells every node of a cluster that some shared state changed, within a second: the node that
 * changes it calls {@link publish} after its change is committed; every node's subscribers to the
 * topic then run (on this node at once, on the others when PostgreSQL's `NOTIFY` arrives, or at
 * the latest at the next poll of the `cluster_changes` counters, for a notification lost while a
 * node's listening connection was down).
 *
 * For per-node state derived from the database (remembered upstream failures, a cache of
 * settings): state that is read from the database on every request needs no feed. On SQLite there
 * is one node, and publishing only runs this node's subscribers.
 */
export class ChangeFeed {
  private readonly subscribers = new Map<string, Set<() => void>>()
  /** The last version of each topic this node has dispatched. */
  private readonly seen = new Map<string, number>()
  private pollTimer: NodeJS.Timeout | undefined
  private relistenTimer: NodeJS.Timeout | undefined
  private listener: { close(): Promise<void> } | undefined
  private isStopped = false
  private polling: Promise<void> | undefined
  private isPollPending = false
  private isListenerLost = false

  constructor(
    private readonly metadata: MetadataStore,
    private readonly logger: Logger,
    private readonly timings: ChangeFeedTimings = DEFAULT_TIMINGS,
    /**
     * Several processes share this database without notifications (the workers of one node on
     * SQLite): they hear of each other's changes by polling the counters alone.
     */
    private readonly options: { readonly isShared?: boolean } = {},
  ) {}

  private get db(): Kysely<Database> {
    return this.metadata.db
  }

  /** Runs `onChange` whenever `topic` changes on any node (not for changes before this call). Returns an unsubscribe. */
  subscribe(topic: ChangeTopic, onChange: () => void): () => void {
    let set = this.subscribers.get(topic)
    if (!set) this.subscribers.set(topic, (set = new Set()))
    set.add(onChange)
    return () => set.delete(onChange)
  }

  /**
   * Announces that `topic` changed. Call it after the change is committed: a subscriber anywhere
   * may re-read the state at once. This node's subscribers have run when it resolves.
   */
  async publish(topic: ChangeTopic): Promise<void> {
    const now = Date.now()
    await this.db
      .insertInto('cluster_changes')
      .values({ topic, version: 1, changed_at: now })
      .onConflict((oc) => oc.column('topic').doUpdateSet({ version: sql`cluster_changes.version + 1`, changed_at: now }))
      .execute()
    if (this.metadata.engine === 'postgres') {
      await sql`select pg_notify(${CHANGE_CHANNEL}, ${topic})`.execute(this.db)
    }
    const row = await this.db.selectFrom('cluster_changes').select('version').where('topic', '=', topic).executeTakeFirst()
    if (row) this.dispatch(topic, row.version)
  }

  /**
   * Starts listening (PostgreSQL) and polling. A SQLite database serves one node: there is nothing
   * to hear unless several processes of it share the database (`isShared`), which then poll.
   */
  async start(): Promise<void> {
    if (this.metadata.listen === undefined && this.options.isShared !== true) return
    this.isStopped = false
    // What exists now is the baseline: only later changes are news.
    for (const row of await this.db.selectFrom('cluster_changes').selectAll().execute()) this.seen.set(row.topic, row.version)
    if (this.metadata.listen !== undefined) await this.listen()
    this.pollTimer = setInterval(() => void this.poll(), this.timings.pollMs)
    this.pollTimer.unref()
  }

  async stop(): Promise<void> {
    this.isStopped = true
    clearInterval(this.pollTimer)
    clearTimeout(this.relistenTimer)
    await this.polling
    await this.listener?.close()
    this.listener = undefined
  }

  private async listen(): Promise<void> {
    const listen = this.metadata.listen
    if (listen === undefined || this.isStopped) return
    try {
      this.listener = await listen(CHANGE_CHANNEL, () => void this.poll(), (err) => this.onListenerLost(err))
      if (this.isListenerLost) this.logger.info('cluster notifications are back')
      this.isListenerLost = false
      // Whatever changed while nobody listened.
      void this.poll()
    } catch (err) {
      this.onListenerLost(err as Error)
    }
  }

  private onListenerLost(err: Error): void {
    this.listener = undefined
    if (this.isStopped) return
    // Said once per outage; the attempts to listen again are quiet.
    if (!this.isListenerLost) this.logger.warn({ err: err.message }, `cluster notifications unavailable; polling every ${this.timings.pollMs} ms until they are back`)
    this.isListenerLost = true
    clearTimeout(this.relistenTimer)
    this.relistenTimer = setTimeout(() => void this.listen(), this.timings.relistenMs)
    this.relistenTimer.unref()
  }

  /** Reads every counter and dispatches those that moved. One poll at a time; a notification during one is covered by the next. */
  private poll(): Promise<void> {
    if (this.polling) {
      this.isPollPending = true
      return this.polling
    }
    this.polling = (async () => {
      try {
        do {
          this.isPollPending = false
          const rows = await this.db.selectFrom('cluster_changes').select(['topic', 'version']).execute()
          for (const row of rows) this.dispatch(row.topic, row.version)
        } while (this.isPollPending && !this.isStopped)
      } catch (err) {
        // The database is away: readiness says so; the next poll catches up.
        this.logger.debug({ err: (err as Error).message }, 'could not read the cluster change counters')
      } finally {
        this.polling = undefined
      }
    })()
    return this.polling
  }

  private dispatch(topic: string, version: number): void {
    if ((this.seen.get(topic) ?? 0) >= version) return
    this.seen.set(topic, version)
    for (const onChange of this.subscribers.get(topic) ?? []) {
      try {
        onChange()
      } catch (err) {
        this.logger.error({ err, topic }, 'a cluster change subscriber failed')
      }
    }
  }
}
