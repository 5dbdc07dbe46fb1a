/**
 * The quick search by name reads an index range of lower-cased names (the pattern's literal
 * prefix) instead of every name: its results must be exactly those of the plain rule, a
 * case-insensitive match of `*`/`?` patterns against each file's name, in (repository, path)
 * order, page by page, whatever characters the names and patterns hold.
 */
import { join } from 'node:path'
import { Readable } from 'node:stream'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import type { Database } from '../../metadata/schema.js'
import { ArtifactQueries } from './artifact-queries.js'
import type { Asset } from './artifact-types.js'

const backends = await metadataBackends()

const NAMES = [
  'app-1.0.jar', 'app-1.0.pom', 'App-1.1.JAR', 'app-10.jar', 'app_1.jar', 'app%1.jar', 'app\\1.jar', 'apq.jar', 'ap.jar',
  'lib.tar.gz', 'maven-metadata.xml', 'zz', 'z', 'éclair.txt', 'ÉCLAIR.txt', 'naïve.bin', 'emoji-😀.txt', 'emoji-😁.txt',
  '\u{10FFFF}x', '\u{10FFFF}', 'x\u{10FFFF}', 'x\u{10FFFF}y', 'y',
]
/** Every name in three folders of two repositories (the same path in both: found in each). */
const FOLDERS = ['a', 'b/c', 'd']

const PATTERNS = [
  'app-1.0.jar', 'APP-1.0.JAR', 'app-1.1.jar', 'app-1*', 'app-1.?.jar', 'app*', 'App*.jar', 'ap*', 'a*', '*', '*.jar', '?pp*', 'app_1.jar',
  'app%1.jar', 'app\\1.jar', 'app_*', 'app%*', 'app\\*', 'z*', 'z', 'zz*', 'maven-metadata.xml', 'éclair.txt', 'éclair*', 'naïve*',
  'emoji-😀*', 'emoji-*', '\u{10FFFF}*', 'x\u{10FFFF}*', 'nothing-here', 'nothing*',
]

/**
 * The rule the search keeps: `*` any run, `?` one character, everything else literal, letters in
 * either case: the database's `lower()` decides which (SQLite's folds ASCII only, PostgreSQL's all).
 */
function matches(backend: string, pattern: string, name: string): boolean {
  const lower = (s: string) => (backend === 'postgres' ? s.toLowerCase() : s.replace(/[A-Z]/g, (c) => c.toLowerCase()))
  const source = [...pattern.toLowerCase()].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')
  return new RegExp(`^${source}$`, 'su').test(lower(name))
}

describe.each(backends)('search by name (%s)', (backend) => {
  let core: CoreFixture
  let stored: Asset[]

  beforeAll(async () => {
    core = await createCoreFixture(backend)
    stored = []
    for (const key of ['search-one', 'search-two']) {
      const repository = await core.repositories.create(key, { rclass: 'local', packageType: 'generic' })
      const first = await core.artifacts.deploy(repository, 'seed.txt', Readable.from([Buffer.from('content')]), { user: 'test', contentType: 'text/plain' })
      const put = FOLDERS.flatMap((folder) => NAMES.map((name) => ({ path: `${folder}/${name}`, blob: { sha256: first.sha256 }, contentType: 'text/plain' })))
      await core.artifacts.applyChanges(repository, { put }, 'test')
      stored.push(...(await core.artifacts.listDeep(key, '')).files)
    }
  }, 60_000)
  afterAll(() => core?.cleanup())

  const expected = (pattern: string, repoKeys: readonly string[]) =>
    stored
      .filter((a) => repoKeys.includes(a.repoKey) && matches(backend, pattern, a.name))
      .map((a) => `${a.repoKey}/${a.path}`)
      .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))

  it('finds what the plain rule finds, for exact names, prefixes and wildcards', async () => {
    const repoKeys = ['search-one', 'search-two']
    for (const pattern of PATTERNS) {
      const found = await core.artifacts.search.byName(pattern, repoKeys, { limit: 10_000 })
      expect(found.map((a) => `${a.repoKey}/${a.path}`), pattern).toEqual(expected(pattern, repoKeys))
    }
    // Not vacuous: the rule finds something for most patterns, and exact names in every folder.
    expect(expected('app-1.0.jar', repoKeys)).toHaveLength(6)
    expect(expected('APP-1.1.jar', repoKeys)).toHaveLength(6)
  })

  it('pages in (repository, path) order without losing or repeating a file', async () => {
    const repoKeys = ['search-two', 'search-one']
    for (const pattern of ['app*', '*', 'app-1.0.jar', 'emoji-*']) {
      const paged: string[] = []
      for (let after: { repoKey: string; path: string } | undefined, round = 0; round < 100; round++) {
        const page = await core.artifacts.search.byName(pattern, repoKeys, { after, limit: 4 })
        paged.push(...page.map((a) => `${a.repoKey}/${a.path}`))
        const last = page[page.length - 1]
        if (page.length < 4 || !last) break
        after = { repoKey: last.repoKey, path: last.path }
      }
      expect(paged, pattern).toEqual(expected(pattern, ['search-one', 'search-two']))
    }
  })

  it('looks only in the repositories it is given', async () => {
    const found = await core.artifacts.search.byName('app-1.0.jar', ['search-two'], { limit: 100 })
    expect(found.map((a) => `${a.repoKey}/${a.path}`)).toEqual(['search-two/a/app-1.0.jar', 'search-two/b/c/app-1.0.jar', 'search-two/d/app-1.0.jar'])
    expect(await core.artifacts.search.byName('app-1.0.jar', [], { limit: 100 })).toEqual([])
  })

  it('finds files by names and by content in (repository, path) order', async () => {
    const found = await core.artifacts.findFiles({ repoKeys: ['search-two', 'search-one'], names: ['app-1.0.jar', 'z', 'absent'] })
    expect(found.map((a) => `${a.repoKey}/${a.path}`)).toEqual(
      stored.filter((a) => a.name === 'app-1.0.jar' || a.name === 'z').map((a) => `${a.repoKey}/${a.path}`).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
    )
    const below = await core.artifacts.findFiles({ repoKeys: ['search-one'], names: ['app-1.0.jar', 'zz'], below: 'b' })
    expect(below.map((a) => a.path)).toEqual(['b/c/app-1.0.jar', 'b/c/zz'])
    const sha256 = stored[0]!.sha256
    expect(await core.artifacts.findFiles({ repoKeys: ['search-one'], sha256: [sha256] })).toHaveLength(1 + FOLDERS.length * NAMES.length)
    expect(await core.artifacts.findFiles({ repoKeys: ['search-one'], names: [] })).toEqual([])
  })

  it('lists a folder\'s direct children in path order', async () => {
    const { folders, files } = await core.artifacts.children('search-one', 'b')
    expect(folders).toEqual(['b/c'])
    expect(files).toEqual([])
    const listed = await core.artifacts.children('search-one', 'b/c')
    expect(listed.files.map((f) => f.name)).toEqual([...NAMES].sort((x, y) => (Buffer.compare(Buffer.from(x), Buffer.from(y)))))
    expect(listed.folders).toEqual([])
    const root = await core.artifacts.children('search-one', '')
    expect(root.folders).toEqual(['a', 'b', 'd'])
    expect(root.files.map((f) => f.path)).toEqual(['seed.txt'])
  })
})

/**
 * The planner's side of flat costs, on SQLite (which has no statistics to go by): the lookups of a
 * name, a checksum, a folder's children and files by name read an index range of what they find,
 * never a repository whole (`SEARCH assets USING INDEX sqlite_autoindex_assets_1 (repo_key=?)`).
 */
if (backends.includes('sqlite')) {
  describe('query plans on SQLite', () => {
    let core: CoreFixture
    let sqlite: SqliteDatabase.Database
    let queries: ArtifactQueries
    const seen: CompiledQuery[] = []

    beforeAll(async () => {
      core = await createCoreFixture('sqlite')
      await core.repositories.create('plans', { rclass: 'local', packageType: 'generic' })
      sqlite = new SqliteDatabase(join(core.dataDir, 'trove.db'))
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }), log: (event) => void seen.push(event.query) })
      queries = new ArtifactQueries(db, core.blobs)
    })
    afterAll(async () => {
      sqlite?.close()
      await core?.cleanup()
    })

    const plansOf = async (lookup: () => Promise<unknown>) => {
      seen.length = 0
      await lookup()
      return seen.flatMap((query) => (sqlite.prepare(`explain query plan ${query.sql}`).all(...(query.parameters as unknown[])) as { detail: string }[]).map((row) => row.detail))
    }

    it('reads an index range of what each lookup finds', async () => {
      const lookups: [string, () => Promise<unknown>][] = [
        ['exact name', () => queries.search.byName('App-1.0.jar', ['plans', 'other'], { limit: 1000 })],
        ['name prefix', () => queries.search.byName('app-1*', ['plans'], { limit: 1000 })],
        ['checksum', () => queries.search.byChecksum('sha256', 'a'.repeat(64), ['plans', 'other'], { limit: 1000 })],
        ['children', () => queries.children('plans', 'a/b')],
        ['files by names', () => queries.findFiles({ repoKeys: ['plans'], names: ['a.jar', 'b.jar'] })],
        ['files by content', () => queries.findFiles({ repoKeys: ['plans', 'other'], sha256: ['a'.repeat(64), 'b'.repeat(64)] })],
        ['files by names below a folder', () => queries.findFiles({ repoKeys: ['plans'], names: ['a.jar', 'b.jar'], below: 'a/b' })],
      ]
      for (const [label, lookup] of lookups) {
        const plans = await plansOf(lookup)
        expect(plans.length, label).toBeGreaterThan(0)
        for (const plan of plans) expect(plan, label).not.toMatch(/^(SCAN|SEARCH \w+ USING (COVERING )?INDEX sqlite_autoindex_\w+ \(repo_key=\?\)$)/)
      }
      // Below a folder, the folder's path range: not every file of that name in the repository.
      expect(await plansOf(() => queries.findFiles({ repoKeys: ['plans'], names: ['manifest.json'], below: 'image' }))).toEqual([
        expect.stringMatching(/USING INDEX sqlite_autoindex_assets_1 \(repo_key=\? AND path>\? AND path<\?\)/),
      ])
    })
  })
}
