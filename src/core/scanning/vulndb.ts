import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import yauzl from 'yauzl'
import { TroveError } from '../errors.js'
import { parseJson } from '../json.js'
import { readLimited } from '../streams.js'
import type { Database } from '../../metadata/schema.js'
import { isAffected, type AffectedPackage, type OsvRange } from './matcher.js'
import type { ScanningRegistry } from './scanning-registry.js'

/** One OSV record (the fields Trove reads; the whole record is kept as imported). */
export interface OsvRecord {
  readonly id: string
  readonly modified: string
  readonly withdrawn?: string
  readonly summary?: string
  readonly details?: string
  readonly aliases?: readonly string[]
  readonly severity?: readonly { readonly type: string; readonly score: string }[]
  readonly affected?: readonly {
    readonly package?: { readonly ecosystem?: string; readonly name?: string; readonly purl?: string }
    readonly ranges?: readonly OsvRange[]
    readonly versions?: readonly string[]
    readonly database_specific?: Record<string, unknown>
    readonly ecosystem_specific?: Record<string, unknown>
  }[]
  readonly database_specific?: Record<string, unknown>
  readonly [key: string]: unknown
}

export interface ImportSummary {
  /** New records. */
  imported: number
  /** Records replaced by a newer `modified`. */
  updated: number
  /** Records already stored with the same or a newer `modified`. */
  unchanged: number
  /** Withdrawn records: not stored, and removed if they were. */
  withdrawn: number
  /** Entries that are not OSV records (each with its reason, the first 20). */
  invalid: number
  errors: string[]
  /** `ecosystem\0name` of every package whose advisories changed: what the scanner re-matches. */
  readonly changedPackages: Set<string>
}

/** Limits of an import, against archives that are too large or hostile. */
export interface ImportLimits {
  /** One record's JSON at most (OSV records are a few KiB; the largest a few hundred). */
  readonly maxRecordBytes: number
  /** Entries of a zip archive at most. */
  readonly maxZipEntries: number
  /** Uncompressed bytes of a whole zip archive at most. */
  readonly maxZipBytes: number
  /** Uncompressed / compressed size of one entry at most (a zip bomb's is in the thousands). */
  readonly maxCompressionRatio: number
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = {
  maxRecordBytes: 8 * 1024 * 1024,
  maxZipEntries: 1_000_000,
  maxZipBytes: 8 * 1024 * 1024 * 1024,
  maxCompressionRatio: 200,
}

/** One matched advisory of a package version. */
export interface VulnMatch {
  readonly id: string
  readonly aliases: readonly string[]
  readonly summary: string | null
  /** The versions that fix it, from the matched `affected[]` entries. */
  readonly fixedVersions: readonly string[]
}

/** Records are written this many per transaction. */
const BATCH = 200

/**
 * The vulnerability database: OSV records imported from files, folders and zip archives (the
 * form OSV publishes per ecosystem), kept in the metadata store so that every node sees the same.
 * A record replaces the stored one only when its `modified` is newer; a withdrawn record is
 * removed. Each `affected[]` entry is a row keyed by ecosystem + normalised name: matching one
 * package version reads only the advisories of that package. Names are normalised and versions
 * ordered as the formats declare their ecosystems (`ecosystems`); records of any other ecosystem
 * are kept and matched by exact names, `versions` and `SEMVER` ranges.
 */
export class VulnerabilityDatabase {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly ecosystems: Pick<ScanningRegistry, 'normalizeName' | 'comparator'>,
    private readonly limits: ImportLimits = DEFAULT_IMPORT_LIMITS,
  ) {}

  /** Imports records (parsed JSON values); anything that is not an OSV record is counted invalid, not fatal. */
  async importRecords(records: AsyncIterable<unknown> | Iterable<unknown>, summary: ImportSummary = emptySummary()): Promise<ImportSummary> {
    let batch: OsvRecord[] = []
    for await (const value of records) {
      const problem = recordProblem(value)
      if (problem) {
        summary.invalid++
        if (summary.errors.length < 20) summary.errors.push(problem)
        continue
      }
      batch.push(value as OsvRecord)
      if (batch.length >= BATCH) {
        await this.writeBatch(batch, summary)
        batch = []
      }
    }
    if (batch.length > 0) await this.writeBatch(batch, summary)
    return summary
  }

  /**
   * Imports a `.json` file (a record or an array), a `.zip` archive of records, or a folder of
   * either (recursively). Zip archives are read entry by entry, never whole.
   */
  async importPath(path: string, summary: ImportSummary = emptySummary()): Promise<ImportSummary> {
    const info = await stat(path)
    if (info.isDirectory()) {
      const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))
      for (const entry of entries) {
        if (entry.isSymbolicLink()) continue
        if (entry.isDirectory() || /\.(json|zip)$/i.test(entry.name)) await this.importPath(join(path, entry.name), summary)
      }
      return summary
    }
    if (/\.zip$/i.test(path)) return this.importZip(path, summary)
    if (info.size > this.limits.maxRecordBytes * 16) {
      throw new TroveError('PAYLOAD_TOO_LARGE', `${path} is ${info.size} bytes; a JSON file of records may have at most ${this.limits.maxRecordBytes * 16}`)
    }
    return this.importRecords(recordsOf(parseJson(await readFile(path, 'utf8'), path)), summary)
  }

  /** Imports every `*.json` entry of a zip archive (a file on disk: yauzl reads its central directory). */
  async importZip(path: string, summary: ImportSummary = emptySummary()): Promise<ImportSummary> {
    return this.importRecords(this.zipRecords(path), summary)
  }

  private async *zipRecords(path: string): AsyncGenerator<unknown> {
    const zip = await openZip(path)
    try {
      if (zip.entryCount > this.limits.maxZipEntries) {
        throw new TroveError('PAYLOAD_TOO_LARGE', `the archive has ${zip.entryCount} entries; at most ${this.limits.maxZipEntries} are read`)
      }
      let total = 0
      for await (const entry of zipEntries(zip)) {
        if (entry.fileName.endsWith('/') || !/\.json$/i.test(entry.fileName)) continue
        const declared = entry.uncompressedSize
        if (declared > this.limits.maxRecordBytes) throw tooLarge(entry.fileName, declared, this.limits.maxRecordBytes)
        if (entry.compressedSize > 0 && declared / entry.compressedSize > this.limits.maxCompressionRatio) {
          throw new TroveError('BAD_REQUEST', `${entry.fileName} expands ${Math.round(declared / entry.compressedSize)} times; refusing what looks like a zip bomb`)
        }
        total += declared
        if (total > this.limits.maxZipBytes) throw new TroveError('PAYLOAD_TOO_LARGE', `the archive expands past ${this.limits.maxZipBytes} bytes`)
        // yauzl checks that the bytes inflated match the declared size, so the limit holds for the real bytes too.
        const text = await readEntry(zip, entry, this.limits.maxRecordBytes)
        let value: unknown
        try {
          value = parseJson(text, entry.fileName)
        } catch (err) {
          yield { invalidReason: (err as Error).message }
          continue
        }
        yield* recordsOf(value)
      }
    } finally {
      zip.close()
    }
  }

  /** The stored record, as imported. */
  async get(id: string): Promise<OsvRecord | undefined> {
    const row = await this.db.selectFrom('vuln_records').select('record').where('id', '=', id).executeTakeFirst()
    return row ? (JSON.parse(row.record) as OsvRecord) : undefined
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('vuln_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /**
   * The advisories that affect `name@version` in `ecosystem` (OSV spelling; distro ecosystems with
   * their release, `Debian:12`). Without a version: every advisory that names the package.
   */
  async match(ecosystem: string, name: string, version?: string): Promise<VulnMatch[]> {
    const found = await this.matchMany([{ ecosystem, name, version }])
    return found.get(0) ?? []
  }

  /** {@link match} for many packages at once, in indexed reads per distinct package; keyed by input index. */
  async matchMany(packages: readonly { ecosystem: string; name: string; version?: string | undefined }[]): Promise<Map<number, VulnMatch[]>> {
    const byPackage = new Map<string, number[]>()
    packages.forEach((p, i) => {
      const key = `${p.ecosystem}\0${this.ecosystems.normalizeName(p.ecosystem, p.name)}`
      byPackage.set(key, [...(byPackage.get(key) ?? []), i])
    })
    const result = new Map<number, VulnMatch[]>()
    const records = new Map<string, { aliases: string[]; summary: string | null }>()
    for (const [key, indexes] of byPackage) {
      const [ecosystem, name] = key.split('\0') as [string, string]
      const rows = await this.db
        .selectFrom('vuln_affected')
        .select(['vuln_id', 'ranges', 'versions'])
        .where('ecosystem', '=', ecosystem)
        .where('name', '=', name)
        .orderBy('vuln_id')
        .orderBy('seq')
        .execute()
      const entries = rows.map((r) => ({
        id: r.vuln_id,
        entry: { ecosystem, ranges: JSON.parse(r.ranges) as OsvRange[], versions: JSON.parse(r.versions) as string[] } satisfies AffectedPackage,
      }))
      const order = this.ecosystems.comparator(ecosystem)
      for (const index of indexes) {
        const version = packages[index]!.version
        const matched = new Map<string, string[]>()
        for (const { id, entry } of entries) {
          if (version !== undefined && !isAffected(entry, version, order)) continue
          const fixes = matched.get(id) ?? []
          for (const range of entry.ranges) for (const e of range.events) if (e.fixed !== undefined && range.type !== 'GIT' && !fixes.includes(e.fixed)) fixes.push(e.fixed)
          matched.set(id, fixes)
        }
        const list: VulnMatch[] = []
        for (const [id, fixedVersions] of matched) {
          let info = records.get(id)
          if (!info) {
            const row = await this.db.selectFrom('vuln_records').select(['aliases', 'summary']).where('id', '=', id).executeTakeFirstOrThrow()
            info = { aliases: JSON.parse(row.aliases) as string[], summary: row.summary }
            records.set(id, info)
          }
          list.push({ id, aliases: info.aliases, summary: info.summary, fixedVersions })
        }
        result.set(index, list)
      }
    }
    return result
  }

  /** Full records, for ids (the OSV query API answers with whole records). */
  async records(ids: readonly string[]): Promise<OsvRecord[]> {
    if (ids.length === 0) return []
    const rows = await this.db.selectFrom('vuln_records').select(['id', 'record']).where('id', 'in', [...ids]).orderBy('id').execute()
    return rows.map((r) => JSON.parse(r.record) as OsvRecord)
  }

  private async writeBatch(batch: readonly OsvRecord[], summary: ImportSummary): Promise<void> {
    // Last one wins within a batch too (an archive may hold two versions of a record).
    const unique = new Map<string, OsvRecord>()
    for (const record of batch) {
      const seen = unique.get(record.id)
      if (!seen || modifiedMs(record) > modifiedMs(seen)) unique.set(record.id, record)
    }
    const now = Date.now()
    await this.db.transaction().execute(async (trx) => {
      const ids = [...unique.keys()]
      const stored = new Map(
        (await trx.selectFrom('vuln_records').select(['id', 'modified_ms']).where('id', 'in', ids).execute()).map((r) => [r.id, Number(r.modified_ms)]),
      )
      for (const record of unique.values()) {
        const previous = stored.get(record.id)
        if (record.withdrawn !== undefined) {
          summary.withdrawn++
          if (previous !== undefined) {
            await this.notePackages(trx, record.id, summary)
            await trx.deleteFrom('vuln_records').where('id', '=', record.id).execute()
          }
          continue
        }
        const modified = modifiedMs(record)
        if (previous !== undefined && previous >= modified) {
          summary.unchanged++
          continue
        }
        if (previous !== undefined) {
          await this.notePackages(trx, record.id, summary)
          // Children first: the foreign keys cascade on PostgreSQL, but SQLite enforces them only when asked.
          await trx.deleteFrom('vuln_affected').where('vuln_id', '=', record.id).execute()
          await trx.deleteFrom('vuln_aliases').where('vuln_id', '=', record.id).execute()
          await trx.deleteFrom('vuln_records').where('id', '=', record.id).execute()
          summary.updated++
        } else {
          summary.imported++
        }
        const aliases = [...new Set((record.aliases ?? []).filter((a): a is string => typeof a === 'string' && a !== record.id))]
        await trx
          .insertInto('vuln_records')
          .values({
            id: record.id,
            modified: record.modified,
            modified_ms: modified,
            summary: typeof record.summary === 'string' ? record.summary : null,
            aliases: JSON.stringify(aliases),
            record: JSON.stringify(record),
            imported_at: now,
          })
          .execute()
        if (aliases.length > 0) await trx.insertInto('vuln_aliases').values(aliases.map((alias) => ({ vuln_id: record.id, alias }))).execute()
        const affected = (record.affected ?? []).flatMap((a, seq) => {
          const ecosystem = a.package?.ecosystem
          const name = a.package?.name
          if (typeof ecosystem !== 'string' || typeof name !== 'string') return []
          const normalized = this.ecosystems.normalizeName(ecosystem, name)
          summary.changedPackages.add(`${ecosystem}\0${normalized}`)
          return [
            {
              vuln_id: record.id,
              seq,
              ecosystem,
              name: normalized,
              ranges: JSON.stringify(Array.isArray(a.ranges) ? a.ranges.filter(isRange) : []),
              versions: JSON.stringify(Array.isArray(a.versions) ? a.versions.filter((v) => typeof v === 'string') : []),
            },
          ]
        })
        if (affected.length > 0) await trx.insertInto('vuln_affected').values(affected).execute()
      }
    })
  }

  private async notePackages(trx: Kysely<Database>, id: string, summary: ImportSummary): Promise<void> {
    const rows = await trx.selectFrom('vuln_affected').select(['ecosystem', 'name']).where('vuln_id', '=', id).execute()
    for (const r of rows) summary.changedPackages.add(`${r.ecosystem}\0${r.name}`)
    await trx.deleteFrom('vuln_affected').where('vuln_id', '=', id).execute()
    await trx.deleteFrom('vuln_aliases').where('vuln_id', '=', id).execute()
  }
}

export function emptySummary(): ImportSummary {
  return { imported: 0, updated: 0, unchanged: 0, withdrawn: 0, invalid: 0, errors: [], changedPackages: new Set() }
}

/** The summary as JSON (the changed packages as a count). */
export function summaryJson(summary: ImportSummary): Record<string, unknown> {
  const { changedPackages, ...rest } = summary
  return { ...rest, changedPackages: changedPackages.size }
}

/** Why `value` is not an OSV record Trove can store, or undefined when it is one. */
function recordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object'
  const v = value as Record<string, unknown>
  if (typeof v.invalidReason === 'string') return v.invalidReason
  if (typeof v.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(v.id)) return `no valid "id" (${JSON.stringify(v.id)?.slice(0, 60)})`
  if (typeof v.modified !== 'string' || Number.isNaN(Date.parse(v.modified))) return `${v.id}: no valid "modified" time`
  if (v.affected !== undefined && !Array.isArray(v.affected)) return `${v.id}: "affected" is not an array`
  if (v.aliases !== undefined && !Array.isArray(v.aliases)) return `${v.id}: "aliases" is not an array`
  return undefined
}

function isRange(value: unknown): value is OsvRange {
  return typeof value === 'object' && value !== null && typeof (value as OsvRange).type === 'string' && Array.isArray((value as OsvRange).events)
}

function modifiedMs(record: OsvRecord): number {
  return Date.parse(record.modified)
}

function recordsOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value]
}

function tooLarge(name: string, size: number, limit: number): TroveError {
  return new TroveError('PAYLOAD_TOO_LARGE', `${name} is ${size} bytes; one record may have at most ${limit}`)
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) reject(new TroveError('BAD_REQUEST', `not a readable zip archive: ${err?.message ?? 'unknown error'}`))
      else resolve(zip)
    })
  })
}

async function* zipEntries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      const onEntry = (e: yauzl.Entry) => {
        cleanup()
        resolve(e)
      }
      const onEnd = () => {
        cleanup()
        resolve(undefined)
      }
      const onError = (err: Error) => {
        cleanup()
        reject(new TroveError('BAD_REQUEST', `the zip archive is damaged: ${err.message}`))
      }
      const cleanup = () => {
        zip.off('entry', onEntry)
        zip.off('end', onEnd)
        zip.off('error', onError)
      }
      zip.on('entry', onEntry)
      zip.on('end', onEnd)
      zip.on('error', onError)
      zip.readEntry()
    })
    if (!entry) return
    yield entry
  }
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) {
        reject(new TroveError('BAD_REQUEST', `cannot read ${entry.fileName}: ${err?.message ?? 'unknown error'}`))
        return
      }
      collect(stream, maxBytes, entry.fileName).then(resolve, reject)
    })
  })
}

/** Reads a small document (one record) with a hard size limit. */
async function collect(stream: Readable, maxBytes: number, what: string): Promise<string> {
  try {
    const tooBig = () => new TroveError('PAYLOAD_TOO_LARGE', `${what} is larger than ${maxBytes} bytes, the most one record may have`)
    return (await readLimited(stream, maxBytes, tooBig)).toString('utf8')
  } catch (err) {
    if (err instanceof TroveError) throw err
    throw new TroveError('BAD_REQUEST', `cannot read ${what}: ${(err as Error).message}`)
  }
}

