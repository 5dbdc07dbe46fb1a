/** A serialized packument and what it was built from. */
export interface CachedPackument {
  /** The package state it was built from (see NpmStore.state). */
  readonly state: string
  readonly body: Buffer
  readonly etag: string
}

/**
 * Serialized packuments, least recently used first out, bounded in bytes. An entry is valid only
 * for the package state it was built from: the caller reads the current state (one indexed row)
 * and rebuilds on a mismatch, so every node of a cluster serves fresh documents without any
 * invalidation message. One instance per format registration, never module state.
 */
export class PackumentCache {
  private readonly entries = new Map<string, CachedPackument>()
  private bytes = 0

  constructor(private readonly maxBytes: number) {}

  get(key: string, state: string): CachedPackument | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    this.entries.delete(key)
    if (entry.state !== state) {
      this.bytes -= entry.body.length
      return undefined
    }
    this.entries.set(key, entry) // most recently used now
    return entry
  }

  set(key: string, entry: CachedPackument): void {
    if (entry.body.length > this.maxBytes / 4) return // one huge document must not flush everything else
    const previous = this.entries.get(key)
    if (previous) {
      this.entries.delete(key)
      this.bytes -= previous.body.length
    }
    this.entries.set(key, entry)
    this.bytes += entry.body.length
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(oldest)
      this.bytes -= value.body.length
    }
  }

  get size(): number {
    return this.bytes
  }
}
