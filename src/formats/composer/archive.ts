import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { type ExtractionLimits, isTroveError, parseJson, readCapped, ScanFailure, spoolCapped, walkZip } from '../../core/index.js'

/** composer.json and composer.lock read at most. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** What a package archive holds of interest: its composer.json and, when there, its composer.lock (beside it). */
export interface ArchiveManifests {
  /** Where composer.json is inside the archive (`composer.json`, or `<dir>/composer.json` for a zip with one top folder). */
  readonly manifestPath: string
  readonly manifest: Buffer
  readonly lockPath?: string
  readonly lock?: Buffer
}

/**
 * Reads a Composer package zip: spooled to a scratch folder (a zip's directory is at its end;
 * nothing is held in memory), walked with the limits (entry count, unpacked size, ratio; `..`
 * and absolute entry names refused), and its composer.json found where Composer looks for it: at
 * the root, or inside the archive's single top-level folder (a GitHub zipball). A problem throws
 * `ScanFailure` with the reason.
 */
export async function readArchive(source: Readable, limits: ExtractionLimits, maxBytes: number, scratch?: string): Promise<ArchiveManifests> {
  const dir = scratch ?? (await mkdtemp(join(tmpdir(), 'trove-composer-')))
  try {
    const file = join(dir, 'package.zip')
    await spoolCapped(source, file, maxBytes, 'the archive')
    const found = new Map<string, Buffer>()
    const tops = new Set<string>()
    let atRoot = 0
    await walkZip(file, limits, 'the archive', async (path, open) => {
      const segments = path.split('/')
      if (segments.length === 1) atRoot++
      else tops.add(segments[0]!)
      const name = segments[segments.length - 1]
      if (segments.length <= 2 && (name === 'composer.json' || name === 'composer.lock')) {
        found.set(path, await readCapped(await open(), Math.min(MAX_MANIFEST_BYTES, limits.maxMetadataBytes), path))
      }
    })
    const folder = found.has('composer.json') ? '' : atRoot === 0 && tops.size === 1 ? `${[...tops][0]}/` : undefined
    const manifest = folder === undefined ? undefined : found.get(`${folder}composer.json`)
    if (folder === undefined || !manifest) throw new ScanFailure('the archive has no composer.json at its root (nor in its single top-level folder)')
    const lock = found.get(`${folder}composer.lock`)
    return { manifestPath: `${folder}composer.json`, manifest, ...(lock ? { lockPath: `${folder}composer.lock`, lock } : {}) }
  } finally {
    if (!scratch) await rm(dir, { recursive: true, force: true })
  }
}

/** A JSON object from bytes, or a `ScanFailure` naming what it was. */
export function jsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = parseJson(bytes.toString('utf8'), what)
  } catch (err) {
    throw isTroveError(err) ? new ScanFailure(err.message) : err
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ScanFailure(`${what} is not a JSON object`)
  return value as Record<string, unknown>
}
