/**
 * `.crate` archives and `cargo publish` request bodies built byte by byte, for the tests of what
 * Trove refuses: archives ordinary tools never make (`..` names, links, files outside the crate's
 * folder) and bodies whose parts disagree.
 */
import { gzipSync } from 'node:zlib'
import { tarOfItems, type TarItem } from './scan-archives.js'

/** A Cargo.toml as `cargo package` normalises it. */
export function cargoToml(name: string, version: string): string {
  return ['[package]', 'edition = "2021"', `name = "${name}"`, `version = "${version}"`, 'description = "test"', 'license = "MIT"', ''].join('\n')
}

/** A gzip tar of `<name>-<version>/Cargo.toml`, `src/lib.rs` and any `extra` entries. */
export function crateOf(name: string, version: string, options: { extra?: readonly TarItem[]; toml?: string; root?: string } = {}): Buffer {
  const root = options.root ?? `${name}-${version}`
  return gzipSync(
    tarOfItems([
      { path: `${root}/Cargo.toml`, body: options.toml ?? cargoToml(name, version) },
      { path: `${root}/src/lib.rs`, body: 'pub fn f() {}\n' },
      ...(options.extra ?? []),
    ]),
  )
}

/** The JSON cargo sends with a crate (the fields Trove reads, plus some it ignores). */
export function publishJson(name: string, version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, vers: version, deps: [], features: {}, authors: [], description: 'test', license: 'MIT', keywords: [], categories: [], badges: {}, links: null, ...extra }
}

/** `PUT /api/v1/crates/new`'s body: u32 LE length + JSON + u32 LE length + crate. */
export function publishBody(json: unknown, crate: Buffer): Buffer {
  const metadata = Buffer.from(JSON.stringify(json))
  const lengths = Buffer.alloc(8)
  lengths.writeUInt32LE(metadata.length, 0)
  lengths.writeUInt32LE(crate.length, 4)
  return Buffer.concat([lengths.subarray(0, 4), metadata, lengths.subarray(4), crate])
}
