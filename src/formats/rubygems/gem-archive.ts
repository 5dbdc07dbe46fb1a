import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { type ExtractionLimits, readCapped, ScanFailure, UnpackBudget, walkTar } from '../../core/index.js'
import { GemspecError, parseGemspec, type GemSpec } from './gemspec.js'

/** The gemspec YAML read at most (the largest published are well under 1 MiB). */
const MAX_SPEC_BYTES = 4 * 1024 * 1024
/** A lockfile read at most. */
const MAX_LOCK_BYTES = 4 * 1024 * 1024
/** What a .gem's outer tar may hold: the three parts and their signatures. */
const PARTS = /^(?:metadata\.gz|data\.tar\.gz|checksums\.yaml\.gz)(?:\.sig)?$/

export interface GemContents {
  readonly spec: GemSpec
  /** `Gemfile.lock` files inside data.tar.gz, by path, when asked for. */
  readonly lockfiles: readonly { readonly path: string; readonly text: string }[]
}

/**
 * Reads a .gem as it streams: a tar of `metadata.gz` (the gemspec YAML, gzipped),
 * `data.tar.gz` (the files) and `checksums.yaml.gz`. Refuses (ScanFailure, with the reason) any
 * other entry, a part twice, a link, a path that leaves the archive in data.tar.gz, and a gem
 * without metadata or data. Nothing is written anywhere.
 */
export async function readGem(source: Readable, limits: ExtractionLimits, options: { lockfiles?: boolean } = {}): Promise<GemContents> {
  let specText: string | undefined
  let hasData = false
  const seen = new Set<string>()
  const lockfiles: { path: string; text: string }[] = []
  const budget = new UnpackBudget(limits, 'the gem')
  await walkTar(source, budget, (path, entry) => {
    if (entry.type !== 'File' && entry.type !== 'OldFile') throw new ScanFailure(`the gem has a ${entry.type} entry '${path}': only files are allowed`)
    if (!PARTS.test(path)) throw new ScanFailure(`the gem has an unexpected entry '${path}' (a gem holds metadata.gz, data.tar.gz and checksums.yaml.gz)`)
    if (seen.has(path)) throw new ScanFailure(`the gem has '${path}' twice`)
    seen.add(path)
    if (path === 'metadata.gz') {
      return async (stream) => {
        const gz = await readCapped(stream, MAX_SPEC_BYTES, 'metadata.gz')
        let yaml: Buffer
        try {
          yaml = gunzipSync(gz, { maxOutputLength: MAX_SPEC_BYTES })
        } catch (err) {
          throw new ScanFailure(`the gem's metadata.gz is not readable gzip: ${(err as Error).message}`)
        }
        specText = yaml.toString('utf8')
      }
    }
    if (path === 'data.tar.gz') {
      return async (stream) => {
        hasData = true
        await walkTar(Readable.from(stream), budget, (inner, innerEntry) => {
          if (innerEntry.type === 'SymbolicLink' || innerEntry.type === 'Link') {
            const target = innerEntry.linkpath ?? ''
            if (target.startsWith('/') || resolves(inner, target).startsWith('..')) throw new ScanFailure(`data.tar.gz links '${inner}' out of the gem ('${target}')`)
          }
          if (!options.lockfiles || !/(?:^|\/)Gemfile\.lock$/.test(inner) || innerEntry.type !== 'File') return undefined
          return async (lock) => {
            lockfiles.push({ path: `data.tar.gz!/${inner}`, text: (await readCapped(lock, Math.min(MAX_LOCK_BYTES, limits.maxMetadataBytes), inner)).toString('utf8') })
          }
        })
      }
    }
    return undefined
  })
  if (specText === undefined) throw new ScanFailure('the gem has no metadata.gz: not a gem')
  if (!hasData) throw new ScanFailure('the gem has no data.tar.gz: not a gem')
  try {
    return { spec: parseGemspec(specText), lockfiles }
  } catch (err) {
    if (err instanceof GemspecError) throw new ScanFailure(err.message)
    throw err
  }
}

/** Where a link at `from` pointing to `target` lands, relative to the root ('..' first: outside). */
function resolves(from: string, target: string): string {
  const parts = from.split('/').slice(0, -1)
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (parts.length === 0) return '..'
      parts.pop()
    } else parts.push(segment)
  }
  return parts.join('/')
}
