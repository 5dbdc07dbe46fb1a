/**
 * Archives built byte by byte for the scanner's tests and benchmark, including the hostile ones
 * that ordinary tools refuse to make (`../` names, absolute paths, symbolic links, bombs): tar
 * entries, zip files (stored or deflated), wheels, jars, an rpmdb.sqlite with real header blobs.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32, deflateRawSync } from 'node:zlib'
import Database from 'better-sqlite3'

export interface TarItem {
  readonly path: string
  readonly body?: Buffer | string
  /** `0` file, `2` symlink, `5` directory, `1` hard link. */
  readonly type?: '0' | '1' | '2' | '5'
  readonly linkpath?: string
}

/** One ustar header + body (names up to 100 bytes). */
export function tarEntry({ path, body = '', type = '0', linkpath = '' }: TarItem): Buffer {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(body)
  const header = Buffer.alloc(512)
  header.write(path, 0, 100)
  header.write(type === '5' ? '0000755\0' : '0000644\0', 100)
  header.write('0000000\0', 108)
  header.write('0000000\0', 116)
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124)
  header.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136)
  header.write('        ', 148)
  header.write(type, 156)
  header.write(linkpath, 157, 100)
  header.write('ustar\0' + '00', 257)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512)])
}

export function tarOfItems(items: readonly TarItem[]): Buffer {
  return Buffer.concat([...items.map(tarEntry), Buffer.alloc(1024)])
}

export function tarOfFiles(files: Readonly<Record<string, Buffer | string>>): Buffer {
  return tarOfItems(Object.entries(files).map(([path, body]) => ({ path, body })))
}

export interface ZipItem {
  readonly name: string
  readonly data?: Buffer | string
  readonly deflate?: boolean
  /** Unix mode (e.g. `0o120777` for a symbolic link). */
  readonly mode?: number
}

/** A zip file written by hand: any names, stored or deflated entries, Unix modes. */
export function zipOf(items: readonly ZipItem[]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const item of items) {
    const data = Buffer.isBuffer(item.data) ? item.data : Buffer.from(item.data ?? '')
    const packed = item.deflate ? deflateRawSync(data) : data
    const name = Buffer.from(item.name)
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(0x0800, 6) // UTF-8 names
    local.writeUInt16LE(item.deflate ? 8 : 0, 8)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(packed.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(name.length, 26)
    locals.push(local, name, packed)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE((3 << 8) | 20, 4) // made by Unix
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(item.deflate ? 8 : 0, 10)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(packed.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(((item.mode ?? 0o100644) << 16) >>> 0, 38)
    central.writeUInt32LE(offset, 42)
    centrals.push(central, name)
    offset += 30 + name.length + packed.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(items.length, 8)
  end.writeUInt16LE(items.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

/** Core metadata (METADATA / PKG-INFO). */
export function coreMetadata(name: string, version: string, requiresDist: readonly string[] = []): string {
  return ['Metadata-Version: 2.1', `Name: ${name}`, `Version: ${version}`, ...requiresDist.map((r) => `Requires-Dist: ${r}`), '', 'A description.', ''].join('\n')
}

/** A wheel: `<name>-<version>.dist-info/METADATA` (+ RECORD, WHEEL) and extra entries. */
export function wheelOf(name: string, version: string, requiresDist: readonly string[] = [], extra: readonly ZipItem[] = []): Buffer {
  const info = `${name.replace(/-/g, '_')}-${version}.dist-info`
  return zipOf([
    { name: `${name.replace(/-/g, '_')}/__init__.py`, data: '' },
    ...extra,
    { name: `${info}/METADATA`, data: coreMetadata(name, version, requiresDist), deflate: true },
    { name: `${info}/WHEEL`, data: 'Wheel-Version: 1.0\n' },
    { name: `${info}/RECORD`, data: '' },
  ])
}

export function pomProperties(groupId: string, artifactId: string, version: string): ZipItem {
  return { name: `META-INF/maven/${groupId}/${artifactId}/pom.properties`, data: `#Generated\nversion=${version}\ngroupId=${groupId}\nartifactId=${artifactId}\n` }
}

/** A jar with the given `pom.properties` coordinates and nested jars (by path). */
export function jarOf(coordinates: readonly [string, string, string][], nested: Readonly<Record<string, Buffer>> = {}): Buffer {
  return zipOf([
    { name: 'META-INF/MANIFEST.MF', data: 'Manifest-Version: 1.0\n' },
    ...coordinates.map(([g, a, v]) => pomProperties(g, a, v)),
    ...Object.entries(nested).map(([name, data]) => ({ name, data })),
  ])
}

/** An RPM header blob (as rpmdb.sqlite stores it) with name, version, release, epoch and source rpm. */
export function rpmHeader(p: { name: string; version: string; release: string; epoch?: number; sourceRpm?: string }): Buffer {
  const tags: { tag: number; type: number; data: Buffer }[] = [
    { tag: 1000, type: 6, data: Buffer.from(`${p.name}\0`) },
    { tag: 1001, type: 6, data: Buffer.from(`${p.version}\0`) },
    { tag: 1002, type: 6, data: Buffer.from(`${p.release}\0`) },
  ]
  if (p.epoch !== undefined) {
    const epoch = Buffer.alloc(4)
    epoch.writeUInt32BE(p.epoch)
    tags.push({ tag: 1003, type: 4, data: epoch })
  }
  if (p.sourceRpm) tags.push({ tag: 1044, type: 6, data: Buffer.from(`${p.sourceRpm}\0`) })
  const index = Buffer.alloc(16 * tags.length)
  const data: Buffer[] = []
  let offset = 0
  tags.forEach((t, i) => {
    if (t.type === 4 && offset % 4 !== 0) {
      const pad = 4 - (offset % 4)
      data.push(Buffer.alloc(pad))
      offset += pad
    }
    index.writeUInt32BE(t.tag, i * 16)
    index.writeUInt32BE(t.type, i * 16 + 4)
    index.writeUInt32BE(offset, i * 16 + 8)
    index.writeUInt32BE(1, i * 16 + 12)
    data.push(t.data)
    offset += t.data.length
  })
  const head = Buffer.alloc(8)
  head.writeUInt32BE(tags.length, 0)
  head.writeUInt32BE(offset, 4)
  return Buffer.concat([head, index, ...data])
}

/** The bytes of an rpmdb.sqlite holding the given header blobs (rpm 4.16+'s `Packages` table). */
export async function rpmSqliteOf(headers: readonly Buffer[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'trove-rpmdb-'))
  try {
    const file = join(dir, 'rpmdb.sqlite')
    const db = new Database(file)
    db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)')
    const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)')
    for (const h of headers) insert.run(h)
    db.close()
    return await readFile(file)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** A dpkg status paragraph. */
export function dpkgParagraph(name: string, version: string, source?: string, status = 'install ok installed'): string {
  return [`Package: ${name}`, `Status: ${status}`, 'Architecture: amd64', ...(source ? [`Source: ${source}`] : []), `Version: ${version}`, 'Description: test', ' continued', ''].join('\n')
}
