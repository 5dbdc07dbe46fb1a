import type { Readable } from 'node:stream'
import { type ExtractionLimits, readCapped, ScanFailure, UnpackBudget, walkTar } from '../../core/index.js'
import { readToml } from './toml.js'

/** What a `.crate` says about itself. */
export interface CrateContents {
  /** The one folder every entry is under: `<name>-<version>`. */
  readonly root: string
  /** `[package]` of its `Cargo.toml`. */
  readonly name: string
  readonly version: string
  /** Its `Cargo.lock`, when it has one and it was asked for. */
  readonly lock: string | undefined
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory'])
const MAX_MANIFEST_BYTES = 1024 * 1024

/**
 * Reads a `.crate` (a gzip tar, as `cargo package` writes it) as it streams: every entry must be a
 * file or folder under one `<name>-<version>/` folder (no links, no `..`, no absolute paths: the
 * core's tar walk refuses those), and `<root>/Cargo.toml` must name the package. Throws
 * {@link ScanFailure} saying what is wrong; nothing is extracted.
 */
export async function readCrate(source: Readable, limits: ExtractionLimits, options: { readonly withLock?: boolean } = {}): Promise<CrateContents> {
  let root: string | undefined
  let manifest: string | undefined
  let lock: string | undefined
  await walkTar(source, new UnpackBudget(limits, 'the crate'), (path, entry) => {
    if (path === '') return undefined
    if (!FILE_TYPES.has(entry.type)) throw new ScanFailure(`entry '${path}' is a ${entry.type}; a crate holds files and folders only`)
    const top = path.split('/')[0]!
    if (root === undefined) root = top
    else if (top !== root) throw new ScanFailure(`entry '${path}' is outside the crate's folder '${root}/'`)
    if (path === `${root}/Cargo.toml` && entry.type !== 'Directory') {
      return async (e) => {
        manifest = (await readCapped(e, Math.min(MAX_MANIFEST_BYTES, limits.maxMetadataBytes), `${path}`)).toString('utf8')
      }
    }
    if (options.withLock && path === `${root}/Cargo.lock` && entry.type !== 'Directory') {
      return async (e) => {
        lock = (await readCapped(e, limits.maxMetadataBytes, `${path}`)).toString('utf8')
      }
    }
    return undefined
  })
  if (root === undefined) throw new ScanFailure('the crate is empty')
  if (manifest === undefined) throw new ScanFailure(`the crate has no ${root}/Cargo.toml`)
  const pkg = readToml(manifest).tables.get('package')
  const name = pkg?.strings.get('name')
  const version = pkg?.strings.get('version')
  if (!name || !version) throw new ScanFailure(`${root}/Cargo.toml has no [package] name and version`)
  return { root, name, version, lock }
}

/** The packages a `Cargo.lock` pins: `[[package]]` tables with a name and a version. */
export function lockedPackages(lock: string): { readonly name: string; readonly version: string; readonly source: string | undefined }[] {
  return (readToml(lock).arrays.get('package') ?? []).flatMap((table) => {
    const name = table.strings.get('name')
    const version = table.strings.get('version')
    return name && version ? [{ name, version, source: table.strings.get('source') }] : []
  })
}
