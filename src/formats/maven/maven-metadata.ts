import { XMLParser } from 'fast-xml-parser'
import { TroveError } from '../../core/index.js'
import { compareMavenVersions, highestVersion, sortMavenVersions } from './maven-version.js'
import { isSnapshotVersion } from './maven-path.js'

/**
 * `maven-metadata.xml` (Maven's repository metadata model 1.1.0): the artifact level lists the
 * versions of `groupId:artifactId`; a SNAPSHOT version's level names its latest timestamped build
 * and, per classifier and extension, the file of that build; a group level lists Maven plugins by
 * prefix. Trove builds the first two from what is stored, and merges any of the three for virtual
 * repositories.
 */
export interface MavenMetadata {
  readonly groupId?: string | undefined
  readonly artifactId?: string | undefined
  /** Only on a SNAPSHOT version's metadata. */
  readonly version?: string | undefined
  readonly versioning?: Versioning | undefined
  readonly plugins?: readonly PluginEntry[] | undefined
}

export interface Versioning {
  readonly latest?: string | undefined
  readonly release?: string | undefined
  readonly snapshot?: SnapshotInfo | undefined
  readonly versions: readonly string[]
  /** `yyyyMMddHHmmss`, UTC. */
  readonly lastUpdated?: string | undefined
  readonly snapshotVersions: readonly SnapshotVersion[]
}

export interface SnapshotInfo {
  /** `yyyyMMdd.HHmmss`, UTC. */
  readonly timestamp?: string | undefined
  readonly buildNumber?: number | undefined
  readonly localCopy?: boolean | undefined
}

export interface SnapshotVersion {
  readonly classifier: string
  readonly extension: string
  /** `1.0-20240101.120000-3`, or `1.0-SNAPSHOT` for a non-unique file. */
  readonly value: string
  /** `yyyyMMddHHmmss`, UTC. */
  readonly updated: string
}

export interface PluginEntry {
  readonly name?: string | undefined
  readonly prefix: string
  readonly artifactId: string
}

/** The largest `maven-metadata.xml` Trove reads (an upstream's, or a member's): they are small documents. */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024

/** `Date` → `yyyyMMddHHmmss` (UTC), Maven's `lastUpdated` and `updated`. */
export function mavenTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)
}

// ---------------------------------------------------------------- writing

/** Renders metadata as Maven writes it (element order of the 1.1.0 model), every value escaped. */
export function renderMetadata(metadata: MavenMetadata): string {
  const xml = new XmlWriter()
  xml.raw('<?xml version="1.0" encoding="UTF-8"?>')
  xml.open('metadata', 'modelVersion="1.1.0"')
  xml.element('groupId', metadata.groupId)
  xml.element('artifactId', metadata.artifactId)
  xml.element('version', metadata.version)
  const versioning = metadata.versioning
  if (versioning) {
    xml.open('versioning')
    xml.element('latest', versioning.latest)
    xml.element('release', versioning.release)
    if (versioning.snapshot) {
      xml.open('snapshot')
      xml.element('timestamp', versioning.snapshot.timestamp)
      xml.element('buildNumber', versioning.snapshot.buildNumber?.toString())
      if (versioning.snapshot.localCopy) xml.element('localCopy', 'true')
      xml.close('snapshot')
    }
    if (versioning.versions.length > 0) {
      xml.open('versions')
      for (const version of versioning.versions) xml.element('version', version)
      xml.close('versions')
    }
    xml.element('lastUpdated', versioning.lastUpdated)
    if (versioning.snapshotVersions.length > 0) {
      xml.open('snapshotVersions')
      for (const sv of versioning.snapshotVersions) {
        xml.open('snapshotVersion')
        if (sv.classifier !== '') xml.element('classifier', sv.classifier)
        xml.element('extension', sv.extension)
        xml.element('value', sv.value)
        xml.element('updated', sv.updated)
        xml.close('snapshotVersion')
      }
      xml.close('snapshotVersions')
    }
    xml.close('versioning')
  }
  if (metadata.plugins && metadata.plugins.length > 0) {
    xml.open('plugins')
    for (const plugin of metadata.plugins) {
      xml.open('plugin')
      xml.element('name', plugin.name)
      xml.element('prefix', plugin.prefix)
      xml.element('artifactId', plugin.artifactId)
      xml.close('plugin')
    }
    xml.close('plugins')
  }
  xml.close('metadata')
  return xml.toString()
}

/** A small, indenting XML writer whose text is always escaped: values come from paths and uploads. */
class XmlWriter {
  private readonly lines: string[] = []
  private depth = 0

  raw(line: string): void {
    this.lines.push(line)
  }

  open(name: string, attributes?: string): void {
    this.lines.push(`${this.indent()}<${name}${attributes ? ` ${attributes}` : ''}>`)
    this.depth++
  }

  close(name: string): void {
    this.depth--
    this.lines.push(`${this.indent()}</${name}>`)
  }

  /** `<name>value</name>`, nothing when the value is undefined. */
  element(name: string, value: string | undefined): void {
    if (value === undefined) return
    this.lines.push(`${this.indent()}<${name}>${escapeXml(value)}</${name}>`)
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`
  }

  private indent(): string {
    return '  '.repeat(this.depth)
  }
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
}

// ---------------------------------------------------------------- reading

const parser = new XMLParser({
  ignoreAttributes: true,
  // Versions are text: `1.10` must not become the number 1.1.
  parseTagValue: false,
  trimValues: true,
  isArray: (_name, jpath) =>
    jpath === 'metadata.versioning.versions.version' ||
    jpath === 'metadata.versioning.snapshotVersions.snapshotVersion' ||
    jpath === 'metadata.plugins.plugin',
})

/** Parses a `maven-metadata.xml`; `BAD_REQUEST` when it is not one. */
export function parseMetadata(xml: string | Buffer): MavenMetadata {
  let document: Record<string, unknown>
  try {
    document = parser.parse(xml) as Record<string, unknown>
  } catch (err) {
    throw new TroveError('BAD_REQUEST', `maven-metadata.xml is not well-formed XML: ${(err as Error).message}`)
  }
  const root = document.metadata
  if (!isRecord(root)) throw new TroveError('BAD_REQUEST', 'maven-metadata.xml has no <metadata> root element')
  const versioning = isRecord(root.versioning) ? root.versioning : undefined
  const snapshot = versioning && isRecord(versioning.snapshot) ? versioning.snapshot : undefined
  const list = (value: unknown, key: string): unknown[] => (isRecord(value) && Array.isArray(value[key]) ? value[key] : [])
  return {
    groupId: text(root.groupId),
    artifactId: text(root.artifactId),
    version: text(root.version),
    versioning: versioning && {
      latest: text(versioning.latest),
      release: text(versioning.release),
      snapshot: snapshot && {
        timestamp: text(snapshot.timestamp),
        buildNumber: snapshot.buildNumber === undefined ? undefined : Number(text(snapshot.buildNumber)) || undefined,
        localCopy: text(snapshot.localCopy) === 'true' || undefined,
      },
      versions: list(versioning.versions, 'version').map(text).filter((v): v is string => v !== undefined && v !== ''),
      lastUpdated: text(versioning.lastUpdated),
      snapshotVersions: list(versioning.snapshotVersions, 'snapshotVersion')
        .filter(isRecord)
        .map((sv) => ({
          classifier: text(sv.classifier) ?? '',
          extension: text(sv.extension) ?? '',
          value: text(sv.value) ?? '',
          updated: text(sv.updated) ?? '',
        }))
        .filter((sv) => sv.extension !== '' && sv.value !== ''),
    },
    plugins: list(root.plugins, 'plugin')
      .filter(isRecord)
      .map((p) => ({ name: text(p.name), prefix: text(p.prefix) ?? '', artifactId: text(p.artifactId) ?? '' }))
      .filter((p) => p.prefix !== '' && p.artifactId !== ''),
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

// ---------------------------------------------------------------- merging

/**
 * One view of several repositories' metadata for the same path (a virtual repository's): the
 * union of versions, `latest` and `release` the highest any member names, `lastUpdated` the
 * newest; for a SNAPSHOT version the newest build, and per classifier and extension the newest
 * file; plugins by prefix, the first member's entry winning. `documents` is in member order.
 */
export function mergeMetadata(documents: readonly MavenMetadata[]): MavenMetadata | undefined {
  const first = documents[0]
  if (!first || documents.length === 1) return first
  const versionings = documents.map((d) => d.versioning).filter((v): v is Versioning => v !== undefined)
  const newest = (values: (string | undefined)[]) => values.filter((v): v is string => !!v).sort().at(-1)

  const versions = sortMavenVersions(new Set(versionings.flatMap((v) => v.versions)))
  const snapshotVersions = new Map<string, SnapshotVersion>()
  for (const sv of versionings.flatMap((v) => v.snapshotVersions)) {
    const key = `${sv.classifier}\0${sv.extension}`
    const known = snapshotVersions.get(key)
    if (!known || sv.updated > known.updated || (sv.updated === known.updated && compareMavenVersions(sv.value, known.value) > 0)) {
      snapshotVersions.set(key, sv)
    }
  }
  const snapshots = versionings.map((v) => v.snapshot).filter((s): s is SnapshotInfo => s !== undefined)
  const snapshot = snapshots.reduce<SnapshotInfo | undefined>((best, s) => {
    if (!best) return s
    const key = (x: SnapshotInfo) => `${x.timestamp ?? ''}\0${String(x.buildNumber ?? 0).padStart(12, '0')}`
    return key(s) > key(best) ? s : best
  }, undefined)
  const plugins = new Map<string, PluginEntry>()
  for (const plugin of documents.flatMap((d) => d.plugins ?? [])) if (!plugins.has(plugin.prefix)) plugins.set(plugin.prefix, plugin)

  const hasVersioning = versionings.length > 0
  return {
    groupId: documents.find((d) => d.groupId)?.groupId,
    artifactId: documents.find((d) => d.artifactId)?.artifactId,
    version: documents.find((d) => d.version)?.version,
    versioning: hasVersioning
      ? {
          latest: highestVersion([...versionings.map((v) => v.latest).filter((v): v is string => !!v)]) ?? highestVersion(versions),
          release:
            highestVersion(versionings.map((v) => v.release).filter((v): v is string => !!v)) ??
            highestVersion(versions.filter((v) => !isSnapshotVersion(v))),
          snapshot,
          versions,
          lastUpdated: newest(versionings.map((v) => v.lastUpdated)),
          snapshotVersions: [...snapshotVersions.values()],
        }
      : undefined,
    plugins: [...plugins.values()],
  }
}
