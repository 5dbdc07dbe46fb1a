import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import yazl from 'yazl'
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { FORMATS } from '../../formats/index.js'
import { ScanningRegistry } from './scanning-registry.js'
import { VulnerabilityDatabase } from './vulndb.js'

const OSV = join(import.meta.dirname, '../../../test/fixtures/osv')
/** Names and orderings as Trove's formats declare them (the fixtures hold Go advisories: the Go format declares Go). */
const ECOSYSTEMS = new ScanningRegistry(FORMATS)

interface Row {
  readonly n: string
  readonly ecosystem: string
  readonly name: string
  readonly version: string
  readonly ids: string[]
}

/** Every row of EXPECTED.md's table: `| # | ecosystem | package | version | ids | why |`. */
async function expectedRows(): Promise<Row[]> {
  const text = await readFile(join(OSV, 'EXPECTED.md'), 'utf8')
  return text
    .split('\n')
    .filter((line) => /^\| \d+ \|/.test(line))
    .map((line) => {
      const cells = line.split('|').map((c) => c.trim())
      const ids = cells[5]!.startsWith('(none)') ? [] : cells[5]!.split(',').map((s) => s.trim())
      return { n: cells[1]!, ecosystem: cells[2]!, name: cells[3]!, version: cells[4]!.replace(/`/g, ''), ids: ids.sort() }
    })
}

const backends = await metadataBackends()

describe.each(backends)('vulnerability database on %s', (backend) => {
  let core: CoreFixture
  let vulndb: VulnerabilityDatabase
  let scratch: string

  beforeAll(async () => {
    core = await createCoreFixture(backend)
    vulndb = new VulnerabilityDatabase(core.metadata.db, ECOSYSTEMS)
    scratch = await mkdtemp(join(tmpdir(), 'trove-vulndb-'))
  })
  afterAll(async () => {
    await core.cleanup()
    await rm(scratch, { recursive: true, force: true })
  })

  it('imports the fixture folder: every record but the withdrawn one', async () => {
    const summary = await vulndb.importPath(OSV)
    expect(summary).toMatchObject({ imported: 39, withdrawn: 1, invalid: 0, updated: 0, unchanged: 0 })
    expect(await vulndb.count()).toBe(39)
    expect(await vulndb.get('GO-2022-0617')).toBeUndefined()
    // A record whose first entry is an ecosystem Trove has no ordering for still loads.
    expect((await vulndb.get('GHSA-qppj-fm5r-hxr3'))?.id).toBe('GHSA-qppj-fm5r-hxr3')
  })

  it('answers every row of EXPECTED.md exactly (no missing, no extra ids)', async () => {
    const rows = await expectedRows()
    expect(rows.length).toBe(108) // the table (numbered with gaps up to 161)
    const wrong: string[] = []
    const matches = await vulndb.matchMany(rows)
    rows.forEach((row, i) => {
      const got = (matches.get(i) ?? []).map((m) => m.id).sort()
      if (JSON.stringify(got) !== JSON.stringify(row.ids)) wrong.push(`row ${row.n} ${row.ecosystem} ${row.name}@${row.version}: got [${got}], want [${row.ids}]`)
    })
    expect(wrong).toEqual([])
  })

  it('keeps aliases, so a report can name one CVE once', async () => {
    const [go, ghsa] = await Promise.all([
      vulndb.match('Go', 'github.com/dgrijalva/jwt-go', '3.2.0+incompatible'),
      vulndb.get('GHSA-w73w-5m7g-f7qc'),
    ])
    expect(go.map((m) => m.id).sort()).toEqual(['GHSA-w73w-5m7g-f7qc', 'GO-2020-0017'])
    for (const m of go) expect(m.aliases).toContain('CVE-2020-26160')
    expect(ghsa?.aliases).toContain('CVE-2020-26160')
  })

  it('re-importing changes nothing; a newer modified replaces the record; an older one does not', async () => {
    const again = await vulndb.importPath(OSV)
    expect(again).toMatchObject({ imported: 0, updated: 0, unchanged: 39, withdrawn: 1 })

    const original = JSON.parse(await readFile(join(OSV, 'GHSA-jf85-cpcp-j695.json'), 'utf8')) as Record<string, unknown>
    // A newer revision that says lodash 4.17.12 is fixed only in 4.17.13.
    const newer = structuredClone(original) as { modified: string; affected: { package: { name: string }; ranges: { events: Record<string, string>[] }[] }[] }
    newer.modified = '2099-01-01T00:00:00Z'
    for (const a of newer.affected) if (a.package.name === 'lodash') a.ranges[0]!.events = [{ introduced: '0' }, { fixed: '4.17.13' }]
    const updated = await vulndb.importRecords([newer])
    expect(updated).toMatchObject({ updated: 1, imported: 0 })
    expect([...updated.changedPackages]).toContain('npm\0lodash')
    expect((await vulndb.match('npm', 'lodash', '4.17.12')).map((m) => m.id)).toContain('GHSA-jf85-cpcp-j695')

    const older = { ...original, modified: '2000-01-01T00:00:00Z' }
    expect(await vulndb.importRecords([older])).toMatchObject({ unchanged: 1, updated: 0 })
    expect((await vulndb.get('GHSA-jf85-cpcp-j695'))?.modified).toBe('2099-01-01T00:00:00Z')
    // Put the fixture back, newer still.
    await vulndb.importRecords([{ ...original, modified: '2099-06-01T00:00:00Z' }])
    expect((await vulndb.match('npm', 'lodash', '4.17.12')).map((m) => m.id)).not.toContain('GHSA-jf85-cpcp-j695')
  })

  it('drops a record when a withdrawn version of it arrives', async () => {
    const record = JSON.parse(await readFile(join(OSV, 'GHSA-c2qf-rxjj-qqgw.json'), 'utf8')) as Record<string, unknown>
    const summary = await vulndb.importRecords([{ ...record, modified: '2099-01-01T00:00:00Z', withdrawn: '2099-01-01T00:00:00Z' }])
    expect(summary).toMatchObject({ withdrawn: 1 })
    expect([...summary.changedPackages]).toContain('npm\0semver')
    expect(await vulndb.get('GHSA-c2qf-rxjj-qqgw')).toBeUndefined()
    expect(await vulndb.match('npm', 'semver', '5.7.1')).toEqual([])
    await vulndb.importRecords([record]) // a withdrawn record may come back later with a newer version
    expect((await vulndb.match('npm', 'semver', '5.7.1')).map((m) => m.id)).toEqual(['GHSA-c2qf-rxjj-qqgw'])
  })

  it('counts what is not an OSV record as invalid and stores nothing of it', async () => {
    const before = await vulndb.count()
    const summary = await vulndb.importRecords([42, { id: 'X-1' }, { id: '../etc', modified: '2020-01-01T00:00:00Z' }, [], { id: 'X-2', modified: 'yesterday' }])
    expect(summary.invalid).toBe(5)
    expect(summary.errors.length).toBe(5)
    expect(await vulndb.count()).toBe(before)
  })

  it('imports a zip archive entry by entry and refuses a zip bomb', async () => {
    const names = (await readdir(OSV)).filter((f) => f.endsWith('.json'))
    const zipPath = join(scratch, 'all.zip')
    const zip = new yazl.ZipFile()
    for (const name of names) zip.addFile(join(OSV, name), name)
    zip.end()
    await pipeline(zip.outputStream, createWriteStream(zipPath))
    const fresh = await createCoreFixture(backend)
    try {
      const db = new VulnerabilityDatabase(fresh.metadata.db, ECOSYSTEMS)
      expect(await db.importZip(zipPath)).toMatchObject({ imported: 39, withdrawn: 1, invalid: 0 })

      // 64 MiB of zeros compresses about a thousand times.
      const bombPath = join(scratch, 'bomb.zip')
      const bomb = new yazl.ZipFile()
      bomb.addBuffer(Buffer.alloc(4 * 1024 * 1024), 'bomb.json')
      bomb.end()
      await pipeline(bomb.outputStream, createWriteStream(bombPath))
      await expect(db.importZip(bombPath)).rejects.toThrow(/zip bomb/)
      await writeFile(join(scratch, 'not.zip'), 'hello')
      await expect(db.importZip(join(scratch, 'not.zip'))).rejects.toThrow(/not a readable zip archive/)
      expect(await db.count()).toBe(39)
    } finally {
      await fresh.cleanup()
    }
  })
})
