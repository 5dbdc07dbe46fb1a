/**
 * Bytes by a content key (a digest), least recently used first out, bounded in total bytes. The
 * key names the content, so entries never go stale and every node may keep its own: formats use
 * it for small hot documents read from the blob store (manifests, cached upstream lists).
 */
export class BytesCache {
  private readonly entries = new Map<string, Buffer>()
  private bytes = 0

  constructor(private readonly maxBytes: number) {}

  get(key: string): Buffer | undefined {
    const value = this.entries.get(key)
    if (value) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      this.entries.delete(key)
      this.entries.set(key, value)
    }
    return value
  }

  /** Keeps `value` unless it alone exceeds the bound; drops the least recently used past it. */
  set(key: string, value: Buffer): void {
    if (value.length > this.maxBytes || this.entries.has(key)) return
    this.entries.set(key, value)
    this.bytes += value.length
    for (const [old, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(old)
      this.bytes -= entry.length
    }
  }
}
