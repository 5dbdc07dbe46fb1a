import { gunzipSync } from 'node:zlib'
import { type ArtifactService, type GuardScope, notFound, readLimited, type RemoteEngine, type Repository, type ResolutionCaller, type ResolutionEngine, type ServedFile, servedFrom, TroveError } from '../../core/index.js'
import { type IndexedGem, legacyTuples, md5, parseInfo, parseVersions, renderInfo, type VersionsEntry, versionKey } from './compact-index.js'
import type { GemStore } from './gem-store.js'
import { isGemName } from './gemspec.js'
import { marshalLoad, RubyUserMarshal, type RubyValue } from './marshal.js'

/** An upstream index document larger than this is refused (a public `versions` is ~20 MiB). */
const MAX_INDEX_BYTES = 128 * 1024 * 1024
/** A gem's `info` document at most. */
const MAX_INFO_BYTES = 16 * 1024 * 1024

export type LegacyIndex = 'specs' | 'latest_specs' | 'prerelease_specs'
export type Tuple = { readonly name: string; readonly version: string; readonly platform: string }

/** Where a remote caches the upstream's index documents (never served as files). */
const CACHE = '.gems'

/**
 * The indexes and files of any class of gems repository. Local: generated from the stored gems.
 * Remote: the upstream's documents through the core's RemoteEngine (cached as metadata, stale if
 * the upstream fails) and its files cached on first download, the gem checked against the sha256
 * of its info line. Virtual: members merged in order (the first member with a version wins), with
 * the dependency-confusion guard: a gem a local member has is never taken from a remote member.
 */
export class GemResolver {
  constructor(
    private readonly artifacts: ArtifactService,
    private readonly engine: RemoteEngine,
    private readonly store: GemStore,
    private readonly resolution: ResolutionEngine,
  ) {}

  /** `/versions`: each gem's version keys and the md5 of the info document this repository serves for it. */
  async versions(repository: Repository, caller: ResolutionCaller): Promise<Map<string, VersionsEntry>> {
    const collected = await this.resolution.all(repository, {}, caller, async (member) => this.guarded(member, await this.memberVersions(member.repository)))
    if (collected.found.length === 1) return collected.found[0]!.value
    const merged = new Map<string, { versions: string[]; sums: string[] }>()
    for (const { value } of collected.found) {
      for (const [name, entry] of value) {
        const known = merged.get(name) ?? { versions: [], sums: [] }
        for (const v of entry.versions) if (!known.versions.includes(v)) known.versions.push(v)
        known.sums.push(entry.infoMd5)
        merged.set(name, known)
      }
    }
    // A gem in one member keeps that member's checksum (its info passes through unchanged); a merged one gets a checksum of the parts, which bundler takes as "fetch again".
    return new Map([...merged].map(([name, e]) => [name, { versions: e.versions, infoMd5: e.sums.length === 1 ? e.sums[0]! : md5(e.sums.join(',')) }]))
  }

  /** `/info/<name>`: the lines of every member that has the gem, the first member's line of a version winning. */
  async info(repository: Repository, name: string, caller: ResolutionCaller): Promise<string> {
    if (!isGemName(name)) throw notFound(`'${name}' is not a gem name`)
    const collected = await this.resolution.all(repository, this.request(name), caller, async ({ repository: member }) => {
      if (member.rclass === 'remote') return this.remoteInfo(member, name)
      const gems = await this.store.gems(member.key, name)
      return gems.length === 0 ? undefined : renderInfo(gems)
    })
    if (collected.found.length === 0) throw await collected.missing(`The gem '${name}'`)
    if (collected.found.length === 1) return collected.found[0]!.value
    const lines = new Map<string, string>()
    for (const { value } of collected.found) for (const [key, line] of parseInfo(value)) if (!lines.has(key)) lines.set(key, line)
    return `---\n${[...lines.values()].map((l) => `${l}\n`).join('')}`
  }

  /** The tuples of a legacy index. */
  async legacy(repository: Repository, which: LegacyIndex, caller: ResolutionCaller): Promise<Tuple[]> {
    const collected = await this.resolution.all(repository, {}, caller, async (member) => {
      const tuples = member.repository.rclass === 'remote' ? await this.remoteLegacy(member.repository, which) : legacyTuples(await this.store.gems(member.repository.key), which)
      const dropped = await this.localNames(member)
      return tuples.filter((t) => !dropped.has(t.name))
    })
    const seen = new Set<string>()
    const out: Tuple[] = []
    for (const { value } of collected.found) {
      for (const t of value) {
        const key = `${t.name}\0${t.version}\0${t.platform}`
        if (!seen.has(key)) out.push(t)
        seen.add(key)
      }
    }
    return collected.found.length > 1 ? legacyTuples(out, which === 'latest_specs' ? 'latest_specs' : which) : out
  }

  /** A file: `gems/<full name>.gem` or `quick/Marshal.4.8/<full name>.gemspec.rz`. */
  async file(repository: Repository, path: string, caller: ResolutionCaller): Promise<ServedFile> {
    const name = gemNameOf(path)
    const found = await this.resolution.first(repository, { ...(name ? this.request(name) : {}), path, what: `'${path}'` }, caller, async ({ repository: member }) => {
      const asset = await this.artifacts.getAsset(member.key, path)
      if (asset) return { kind: 'file', repository: member, asset } as const
      if (member.rclass !== 'remote') return undefined
      return this.remoteFile(member, path, name)
    })
    return found.value
  }

  private request(name: string) {
    return { what: `The gem '${name}'`, isLocalName: (local: Repository) => this.store.has(local.key, name) }
  }

  private async memberVersions(repository: Repository): Promise<Map<string, VersionsEntry>> {
    if (repository.rclass === 'remote') return parseVersions((await this.upstream(repository, 'versions', MAX_INDEX_BYTES, 'text/plain; charset=utf-8')).toString('utf8'))
    const byName = new Map<string, IndexedGem[]>()
    for (const gem of await this.store.gems(repository.key)) byName.set(gem.name, [...(byName.get(gem.name) ?? []), gem])
    return new Map([...byName].map(([name, gems]) => [name, { versions: gems.map(versionKey), infoMd5: md5(renderInfo(gems)) }]))
  }

  /** The names the guard's local repositories hold, which a remote member must not answer for. */
  private async localNames(member: { readonly guard?: GuardScope | undefined }): Promise<Set<string>> {
    if (!member.guard) return new Set()
    const names = new Set<string>()
    for (const local of await member.guard.locals()) for (const gem of await this.store.gems(local.key)) names.add(gem.name)
    return names
  }

  private async guarded(member: { readonly guard?: GuardScope | undefined }, entries: Map<string, VersionsEntry>): Promise<Map<string, VersionsEntry>> {
    const dropped = await this.localNames(member)
    for (const name of dropped) entries.delete(name)
    return entries
  }

  private async remoteInfo(repository: Repository, name: string): Promise<string | undefined> {
    return (await this.upstream(repository, `info/${name}`, MAX_INFO_BYTES, 'text/plain; charset=utf-8')).toString('utf8')
  }

  private async remoteLegacy(repository: Repository, which: LegacyIndex): Promise<Tuple[]> {
    const gz = await this.upstream(repository, `${which}.4.8.gz`, MAX_INDEX_BYTES, 'application/octet-stream')
    try {
      return tuplesOf(marshalLoad(gunzipSync(gz, { maxOutputLength: MAX_INDEX_BYTES })))
    } catch (err) {
      throw new TroveError('UPSTREAM_UNAVAILABLE', `The upstream of '${repository.key}' sent a ${which} index that could not be read: ${(err as Error).message}`)
    }
  }

  /** An upstream document through the engine, cached under `.gems/` as metadata. */
  private async upstream(repository: Repository, path: string, max: number, contentType: string): Promise<Buffer> {
    const base = (repository.config.url ?? '').replace(/\/+$/, '')
    const result = await this.engine.fetch(repository, `${CACHE}/${path}`, { isMetadata: true, upstreamUrl: `${base}/${path}`, contentType })
    const tooLarge = () => new TroveError('UPSTREAM_UNAVAILABLE', `the upstream's ${path} is larger than ${max} bytes`)
    if (result.kind === 'cached') return readLimited(await this.artifacts.open(result.asset), max, tooLarge)
    return readLimited(result.stream, max, tooLarge)
  }

  private async remoteFile(repository: Repository, path: string, name: string | undefined): Promise<ServedFile | undefined> {
    let expected: { sha256: string } | undefined
    if (path.endsWith('.gem') && name) {
      // The gem's sha256, from the upstream's info line of this version: a changed file is refused.
      const key = path.slice('gems/'.length + name.length + 1, -'.gem'.length)
      const line = parseInfo((await this.remoteInfo(repository, name)) ?? '').get(key)
      const sha256 = line ? /\|checksum:([0-9a-f]{64})/.exec(line)?.[1] : undefined
      if (sha256) expected = { sha256 }
    }
    const base = (repository.config.url ?? '').replace(/\/+$/, '')
    const result = await this.engine.fetch(repository, path, { upstreamUrl: `${base}/${path}`, expected: expected ?? {}, contentType: 'application/octet-stream' })
    return servedFrom(repository, path, result)
  }
}

/** The gem a file is of: `gems/rack-test-2.0.0.gem` → `rack-test` (the name ends before the first `-<digit>`). */
export function gemNameOf(path: string): string | undefined {
  const file = path.slice(path.lastIndexOf('/') + 1).replace(/\.gem$|\.gemspec\.rz$/, '')
  const match = /^(.+?)-\d/.exec(file)
  return match && isGemName(match[1]!) ? match[1] : undefined
}

/** `[[name, Gem::Version, platform], …]` → tuples; anything else is refused. */
export function tuplesOf(value: RubyValue): Tuple[] {
  if (!Array.isArray(value)) throw new Error('the index is not an array')
  return (value as RubyValue[]).map((item) => {
    if (!Array.isArray(item) || item.length !== 3) throw new Error('an index entry is not [name, version, platform]')
    const [name, version, platform] = item as RubyValue[]
    const v = version instanceof RubyUserMarshal && Array.isArray(version.data) ? (version.data as RubyValue[])[0] : undefined
    if (typeof name !== 'string' || typeof v !== 'string' || typeof platform !== 'string') throw new Error('an index entry is not [name, version, platform]')
    return { name, version: v, platform }
  })
}
