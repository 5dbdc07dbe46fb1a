import semver from 'semver'
import { hasInstallScript, isObject, type JsonObject } from './manifest.js'

/** One version as a packument shows it. */
export interface PackumentVersion {
  readonly version: string
  /** The version manifest without `dist.tarball` (which depends on who serves it) and `deprecated`. */
  readonly manifest: JsonObject
  readonly deprecated: string | null
  readonly publishedAt: number
  /** Where the tarball lives: a virtual repository will serve versions of several members. */
  readonly tarball: { readonly repoKey: string; readonly path: string }
}

/**
 * A package's registry document, independent of where it was read from: a local repository's
 * rows today; a remote's upstream document or a virtual repository's merge of its members later
 * ({@link mergePackuments}). Rendering (full or abbreviated, tarball URLs) is a separate step.
 */
export interface Packument {
  readonly name: string
  /** Opaque, changes whenever the document does: `_rev`, cache keys. */
  readonly revision: string
  readonly distTags: Readonly<Record<string, string>>
  /** In publish order. */
  readonly versions: readonly PackumentVersion[]
  readonly createdAt: number
  readonly modifiedAt: number
  /** README of the version `latest` points to. */
  readonly readme: string | null
}

/** Fields of a version that the abbreviated ('corgi') document keeps: what installers need. */
const ABBREVIATED_FIELDS = [
  'name',
  'version',
  'deprecated',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'bundleDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'acceptDependencies',
  'bin',
  'directories',
  'engines',
  'cpu',
  'os',
  'libc',
  'funding',
  'license',
  '_hasShrinkwrap',
] as const

/** Fields of the latest version shown at the top of the full document. */
const HOISTED_FIELDS = ['description', 'author', 'bugs', 'contributors', 'homepage', 'keywords', 'license', 'repository'] as const

export interface RenderOptions {
  readonly abbreviated: boolean
  /** The URL a client downloads a version's tarball from. */
  readonly tarballUrl: (version: PackumentVersion) => string
}

/** The version manifest as served: stored manifest + tarball URL + deprecation. */
export function renderVersion(version: PackumentVersion, tarballUrl: string): JsonObject {
  const manifest: JsonObject = { ...version.manifest }
  manifest.dist = { ...(isObject(manifest.dist) ? manifest.dist : {}), tarball: tarballUrl }
  if (version.deprecated) manifest.deprecated = version.deprecated
  return manifest
}

/**
 * The packument as JSON: the full document (`application/json`), or the abbreviated one
 * (`application/vnd.npm.install-v1+json`) described in the npm registry's package-metadata docs.
 */
export function renderPackument(packument: Packument, options: RenderOptions): JsonObject {
  const modified = new Date(packument.modifiedAt).toISOString()
  if (options.abbreviated) {
    const versions: JsonObject = {}
    for (const version of packument.versions) {
      const full = renderVersion(version, options.tarballUrl(version))
      const short: JsonObject = {}
      for (const field of ABBREVIATED_FIELDS) if (full[field] !== undefined) short[field] = full[field]
      short.dist = full.dist!
      if (hasInstallScript(full)) short.hasInstallScript = true
      versions[version.version] = short
    }
    return { name: packument.name, modified, 'dist-tags': { ...packument.distTags }, versions }
  }
  const versions: JsonObject = {}
  const time: JsonObject = { created: new Date(packument.createdAt).toISOString(), modified }
  for (const version of packument.versions) {
    versions[version.version] = renderVersion(version, options.tarballUrl(version))
    time[version.version] = new Date(version.publishedAt).toISOString()
  }
  const document: JsonObject = {
    _id: packument.name,
    _rev: packument.revision,
    name: packument.name,
    'dist-tags': { ...packument.distTags },
    versions,
    time,
  }
  const latest = packument.versions.find((v) => v.version === packument.distTags.latest)
  if (latest) {
    for (const field of HOISTED_FIELDS) if (latest.manifest[field] !== undefined) document[field] = latest.manifest[field]
  }
  if (packument.readme) document.readme = packument.readme
  return document
}

/**
 * Merges the packuments of several repositories into one, as a virtual repository shows them:
 * for each version and each dist-tag the first repository that has it wins (the members' order
 * is the resolution order), and a tag survives only if its version does.
 */
export function mergePackuments(members: readonly Packument[]): Packument | undefined {
  const [first] = members
  if (!first || members.length === 1) return first
  const versions = new Map<string, PackumentVersion>()
  const distTags: Record<string, string> = {}
  for (const member of members) {
    for (const version of member.versions) if (!versions.has(version.version)) versions.set(version.version, version)
    for (const [tag, version] of Object.entries(member.distTags)) if (!(tag in distTags)) distTags[tag] = version
  }
  for (const [tag, version] of Object.entries(distTags)) if (!versions.has(version)) delete distTags[tag]
  const latestOwner = members.find((m) => m.distTags.latest === distTags.latest)
  return {
    name: first.name,
    revision: members.map((m) => m.revision).join('+'),
    distTags,
    versions: [...versions.values()].sort((a, b) => a.publishedAt - b.publishedAt),
    createdAt: Math.min(...members.map((m) => m.createdAt)),
    modifiedAt: Math.max(...members.map((m) => m.modifiedAt)),
    readme: latestOwner?.readme ?? null,
  }
}

/** The version a tag or a version string names, if the packument has it. */
export function resolveVersion(packument: Packument, spec: string): PackumentVersion | undefined {
  const tagged = packument.distTags[spec]
  const wanted = tagged ?? semver.clean(spec, { loose: true }) ?? spec
  return packument.versions.find((v) => v.version === wanted)
}

/**
 * The version `latest` should point to once the tagged one is gone: the highest remaining
 * release, or the highest prerelease if there is no release.
 */
export function fallbackLatest(versions: readonly string[]): string | undefined {
  const sorted = [...versions].filter((v) => semver.valid(v)).sort(semver.rcompare)
  return sorted.find((v) => semver.prerelease(v) === null) ?? sorted[0]
}
