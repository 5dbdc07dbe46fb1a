import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { type Component, type ExtractionContext, type ExtractionLimits, readCapped, ScanFailure, spoolCapped, UnpackBudget, walkTar, walkZip } from '../../core/index.js'
import { parseCoreMetadata } from './core-metadata.js'
import { normalizeName } from './names.js'

/** Core metadata (`METADATA`, `PKG-INFO`) read at most: PyPI's largest are well under 1 MiB. */
const MAX_CORE_METADATA_BYTES = 4 * 1024 * 1024

/**
 * A `Requires-Dist` value (PEP 508: `name[extras] (spec) ; marker` or `name[extras]spec; marker`)
 * as a component: an exact pin (`==1.2.3`, no wildcard, alone) gives that version, which is
 * matched; anything else keeps the specifier as written (or `*`), listed but never matched.
 */
export function requirementOf(value: string): { name: string; version: string } | undefined {
  const requirement = value.split(';')[0]!.trim()
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$/.exec(requirement)
  if (!match) return undefined
  const spec = match[2]!.replace(/^\((.*)\)$/, '$1').trim()
  if (spec.startsWith('@')) return { name: normalizeName(match[1]!), version: spec } // a URL reference
  const pin = /^===?\s*([A-Za-z0-9._+!-]+)$/.exec(spec)
  return { name: normalizeName(match[1]!), version: pin ? pin[1]! : spec === '' ? '*' : spec.replace(/\s+/g, '') }
}

/** The components one core metadata file names: its project, and for the artifact's own, its `Requires-Dist`. */
export function componentsOfMetadata(bytes: Buffer, location: string, relation: Component['relation'], withRequirements: boolean): Component[] {
  const fields = parseCoreMetadata(bytes.toString('utf8'))
  const name = fields.get('name')?.[0]
  const version = fields.get('version')?.[0]
  const found: Component[] = []
  if (name && version) found.push({ ecosystem: 'PyPI', name: normalizeName(name), version, relation, location })
  if (withRequirements) {
    // A value continued on the next line is one requirement.
    for (const value of fields.get('requires-dist') ?? []) {
      const requirement = requirementOf(value.replace(/\s*\n\s*/g, ' '))
      if (requirement) found.push({ ecosystem: 'PyPI', ...requirement, relation: 'dependency', location: `${location} Requires-Dist` })
    }
  }
  return found
}

const ROOT_DIST_INFO = /^[^/]+\.dist-info\/METADATA$/
const ANY_DIST_INFO = /(?:^|\/)[^/]+\.dist-info\/METADATA$/

/**
 * A wheel (a zip): spooled to the scan's scratch folder (a zip's directory is at its end), then
 * its root `*.dist-info/METADATA` (the project and its `Requires-Dist`) and any other
 * `*.dist-info/METADATA` inside (vendored distributions) are read.
 */
export async function extractWheel(source: Readable, limits: ExtractionLimits, context: ExtractionContext): Promise<Component[]> {
  const file = join(context.scratchDir, 'wheel.zip')
  await spoolCapped(source, file, limits.maxUnpackedBytes, 'the wheel')
  const found: Component[] = []
  let hasRoot = false
  await walkZip(file, limits, 'the wheel', async (path, open) => {
    if (!ANY_DIST_INFO.test(path)) return
    const bytes = await readCapped(await open(), Math.min(MAX_CORE_METADATA_BYTES, limits.maxMetadataBytes), path)
    const isRoot = ROOT_DIST_INFO.test(path)
    hasRoot ||= isRoot
    found.push(...componentsOfMetadata(bytes, path, isRoot ? 'self' : 'bundled', isRoot))
  })
  if (!hasRoot) throw new ScanFailure('the wheel has no <name>.dist-info/METADATA at its root')
  return capped(found, limits)
}

/**
 * An sdist (`.tar.gz`), read as it streams: `<name>-<version>/PKG-INFO` (the project, and its
 * `Requires-Dist` when its metadata version lists them) and vendored `*.dist-info/METADATA`.
 */
export async function extractSdist(source: Readable, limits: ExtractionLimits): Promise<Component[]> {
  const found: Component[] = []
  let hasRoot = false
  await walkTar(source, new UnpackBudget(limits, 'the sdist'), (path, entry) => {
    if (entry.type !== 'File' && entry.type !== 'OldFile') return undefined
    const isRoot = /^[^/]+\/PKG-INFO$/.test(path)
    if (!isRoot && !ANY_DIST_INFO.test(path)) return undefined
    return async (stream) => {
      const bytes = await readCapped(stream, Math.min(MAX_CORE_METADATA_BYTES, limits.maxMetadataBytes), path)
      hasRoot ||= isRoot
      found.push(...componentsOfMetadata(bytes, path, isRoot ? 'self' : 'bundled', isRoot))
    }
  })
  if (!hasRoot) throw new ScanFailure('the archive has no <name>-<version>/PKG-INFO: not a Python sdist')
  return capped(found, limits)
}

function capped(found: Component[], limits: ExtractionLimits): Component[] {
  if (found.length > limits.maxComponents) throw new ScanFailure(`more than ${limits.maxComponents} components`)
  return found
}
