/**
 * Manifest bytes by digest, least recently used first out, bounded in total bytes. Content is
 * addressed by its digest and never changes, so entries need no invalidation and every node may
 * keep its own: a hit saves a storage read on the hottest request, manifest GET.
 */
export class ManifestCache {
  private readonly entries = new Map<string, Buffer>()
  private bytes = 0

  constructor(private readonly maxBytes: number) {}

  get(hex: string): Buffer | undefined {
    const value = this.entries.get(hex)
    if (value) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      this.entries.delete(hex)
      this.entries.set(hex, value)
    }
    return value
  }

  set(hex: string, value: Buffer): void {
    if (value.length > this.maxBytes || this.entries.has(hex)) return
    this.entries.set(hex, value)
    this.bytes += value.length
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(key)
      this.bytes -= entry.length
    }
  }
}
