import { posix } from 'node:path'
import type { Readable } from 'node:stream'
import { Parser, type ReadEntry } from 'tar'
import { ScanFailure } from '../components.js'
import { UnpackBudget, decompressed, safeEntryPath } from './archive-limits.js'

/** Reads one entry's bytes (a consumer must read them to the end, or fail). */
export type EntryConsumer = (entry: ReadEntry) => Promise<void>

/**
 * Walks a tar stream (plain, gzip or zstd) entry by entry, as it streams: nothing is extracted.
 * `onEntry` gets each entry's safe path (see {@link safeEntryPath}: `..` and absolute paths fail
 * the walk) and its header, and returns a consumer for the entries it wants to read; the others are
 * skipped. Links are reported with their type and never followed. Entries, unpacked bytes and the
 * compression ratio count against `budget`; a consumer's {@link ScanFailure} ends the walk.
 */
export async function walkTar(source: Readable, budget: UnpackBudget, onEntry: (path: string, entry: ReadEntry) => EntryConsumer | undefined): Promise<void> {
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const pending: Promise<void>[] = []
  const fail = (err: unknown) => {
    failure ??= err instanceof ScanFailure ? err : new ScanFailure(`not a readable tar archive: ${(err as Error).message}`)
    wake?.()
  }
  const links = new SymbolicLinks()
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      if (failure) return entry.resume()
      let consume: EntryConsumer | undefined
      try {
        budget.entry()
        const path = safeEntryPath(entry.path)
        if (entry.type === 'SymbolicLink' && entry.linkpath) links.add(path, entry.linkpath)
        consume = onEntry(path, entry)
      } catch (err) {
        fail(err)
      }
      if (!consume || failure) return entry.resume()
      pending.push(
        consume(entry).catch((err: unknown) => {
          entry.resume()
          fail(err)
        }),
      )
    },
  })
  const parsed = new Promise<void>((resolve) => {
    parser.on('end', () => resolve())
    parser.on('error', (err: Error) => {
      fail(err)
      resolve()
    })
    parser.on('warn', (code: string, message: string) => {
      if (code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ENTRY_INVALID') fail(new ScanFailure(`not a readable tar archive: ${message}`))
    })
  })

  let compressed = 0
  try {
    for await (const chunk of decompressed(source, (n) => (compressed += n))) {
      if (failure) break
      budget.bytes(chunk.length, compressed)
      if (!parser.write(chunk)) {
        // Wait for the consumers, unless one of them fails (then nobody drains the parser).
        await new Promise<void>((resolve) => {
          wake = resolve
          parser.once('drain', resolve)
        })
        wake = undefined
      }
      if (failure) break
    }
  } catch (err) {
    fail(err)
  } finally {
    source.destroy()
  }
  if (failure) {
    parser.abort(failure)
    await Promise.allSettled(pending)
    throw failure
  }
  parser.end()
  await parsed
  await Promise.all(pending)
  if (failure) throw failure
  links.assertNoLoop()
}

/**
 * The archive's symbolic links, to refuse one whose links form a loop (`a → b → a`): a hostile or
 * broken archive, which anything that follows links would never finish resolving. The scan itself
 * never follows a link. A link to a directory above it (`usr/bin/X11 → .`, as Debian ships) is not
 * a loop of links and is allowed.
 */
class SymbolicLinks {
  private readonly targets = new Map<string, string>()

  add(path: string, linkpath: string): void {
    const from = posix.dirname(path)
    const target = posix.normalize(linkpath.startsWith('/') ? linkpath.slice(1) : posix.join(from, linkpath))
    this.targets.set(path.replace(/\/+$/, ''), target.replace(/\/+$/, ''))
  }

  assertNoLoop(): void {
    const acyclic = new Set<string>()
    for (const start of this.targets.keys()) {
      const chain: string[] = []
      const onChain = new Set<string>()
      let at: string | undefined = start
      while (at !== undefined && !acyclic.has(at)) {
        if (onChain.has(at)) throw new ScanFailure(`symbolic link loop: ${[...chain.slice(chain.indexOf(at)), at].join(' → ')}`)
        onChain.add(at)
        chain.push(at)
        at = this.targets.get(at)
      }
      for (const path of chain) acyclic.add(path)
    }
  }
}
