import type { Kysely } from 'kysely'
import type { Database } from '../../metadata/schema.js'
import type { ChangeFeed } from '../cluster/change-feed.js'

export interface ReadOnlyState {
  readonly isReadOnly: boolean
  readonly message: string
  readonly updatedAt: number | null
}

const READ_ONLY = 'system.read-only'
const OFFLINE = 'system.offline'
export const DEFAULT_READ_ONLY_MESSAGE = 'Trove is in read-only mode for maintenance'

/**
 * System-wide switches. They live in the metadata store, not in memory, so that every node of a
 * cluster sees the same state at once.
 */
export class SystemSettings {
  constructor(
    private readonly db: Kysely<Database>,
    /** Told of every switch, so that other nodes' subscribers learn of it within a second. */
    private readonly changes?: ChangeFeed,
  ) {}

  async readOnly(): Promise<ReadOnlyState> {
    const row = await this.db.selectFrom('settings').selectAll().where('name', '=', READ_ONLY).executeTakeFirst()
    if (!row) return { isReadOnly: false, message: '', updatedAt: null }
    const value = JSON.parse(row.value) as { enabled: boolean; message: string }
    return { isReadOnly: value.enabled, message: value.message, updatedAt: row.updated_at }
  }

  /** The global offline switch: remote repositories serve only what they have cached. */
  async offline(): Promise<{ readonly isOffline: boolean; readonly updatedAt: number | null }> {
    const row = await this.db.selectFrom('settings').selectAll().where('name', '=', OFFLINE).executeTakeFirst()
    return { isOffline: row ? (JSON.parse(row.value) as { enabled: boolean }).enabled : false, updatedAt: row?.updated_at ?? null }
  }

  async setOffline(enabled: boolean): Promise<void> {
    const now = Date.now()
    const value = JSON.stringify({ enabled })
    await this.db
      .insertInto('settings')
      .values({ name: OFFLINE, value, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now }))
      .execute()
    await this.changes?.publish('system.offline')
  }

  async setReadOnly(enabled: boolean, message: string | undefined): Promise<ReadOnlyState> {
    const now = Date.now()
    const value = JSON.stringify({ enabled, message: enabled ? message || DEFAULT_READ_ONLY_MESSAGE : '' })
    await this.db
      .insertInto('settings')
      .values({ name: READ_ONLY, value, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now }))
      .execute()
    await this.changes?.publish('system.read-only')
    return this.readOnly()
  }
}
