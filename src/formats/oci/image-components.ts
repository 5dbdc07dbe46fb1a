import { rm } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { Readable } from 'node:stream'
import { type Component, type ExtractionContext, type ExtractionLimits, type InstalledPackageReader, MAX_SMALL_FILE_BYTES, MAX_SPOOLED_BYTES, readCapped, type RepositoryFiles, ScanFailure, spoolCapped, UnpackBudget, walkTar } from '../../core/index.js'
import { osEcosystem, parseApkInstalled, parseDpkgStatus, parseOsRelease, readRpmSqlite, type OsIdentity, type OsPackage } from './os-packages.js'

/** A manifest read at most (the registry refuses larger ones). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024
/** Child manifests of an index scanned at most. */
const MAX_INDEX_CHILDREN = 64
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'])

/** Which layer a file came from: its index in the manifest's `layers` (from 0) and its digest. */
interface LayerRef {
  readonly index: number
  readonly digest: string
}

/** A file of the image's file system that says something, as of the layer that last wrote it. */
type Held =
  | { readonly kind: 'identity'; readonly layer: LayerRef; readonly text: string }
  | { readonly kind: 'os'; readonly db: 'dpkg' | 'apk' | 'rpm'; readonly layer: LayerRef; readonly packages: readonly OsPackage[] }
  | { readonly kind: 'components'; readonly layer: LayerRef; readonly components: readonly Component[] }

const IDENTITY_FILES = new Set(['etc/os-release', 'usr/lib/os-release', 'etc/debian_version', 'etc/alpine-release'])
const RPM_DATABASES = new Set(['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite'])

type Wanted = 'identity' | 'dpkg' | 'apk' | 'rpm' | InstalledPackageReader

/** What a file of the image's file system is: the OS's own files first, then any format's installed packages. */
function wantedKind(path: string, installed: readonly InstalledPackageReader[]): Wanted | undefined {
  if (IDENTITY_FILES.has(path)) return 'identity'
  if (path === 'var/lib/dpkg/status' || (/^var\/lib\/dpkg\/status\.d\/[^/]+$/.test(path) && !path.endsWith('.md5sums'))) return 'dpkg'
  if (path === 'lib/apk/db/installed') return 'apk'
  if (RPM_DATABASES.has(path)) return 'rpm'
  return installed.find((reader) => reader.accepts(path))
}

/**
 * The components of an image, from its manifest (an OCI or Docker schema 2 image manifest; for an
 * index or manifest list, each child image manifest, located by its platform). Child manifests and
 * layers are read only from the blobs the image's repository holds (`context.linked`), never from
 * another repository's copy of a digest; a foreign layer it does not hold is skipped and named
 * (`context.skip`). Layers are read in order, each streamed (gzip, zstd or plain tar) and never
 * extracted: the scanner keeps, per path, only the files that say something (OS package databases,
 * os-release, and what the formats' installed-package readers in `context.installed` take:
 * `node_modules/**\/package.json`, `site-packages/*.dist-info/METADATA`, jars), read or spooled
 * with a size cap, and applies each layer's whiteouts (`.wh.<name>` deletes a path of
 * the layers below, `.wh..wh..opq` empties a folder of them), so a package a later layer removed is
 * not reported. Every component's location names its layer: `layer <index> (<digest>): <path>`.
 */
export async function extractOciManifest(source: Readable, limits: ExtractionLimits, context: ExtractionContext): Promise<Component[]> {
  const manifest = parseManifest(await readCapped(source, MAX_MANIFEST_BYTES, 'the manifest'))
  if (Array.isArray(manifest.manifests)) {
    const children = (manifest.manifests as Record<string, unknown>[]).filter(
      (d) => typeof d.digest === 'string' && MANIFEST_TYPES.has(String(d.mediaType)) && !isAttestation(d),
    )
    if (children.length > MAX_INDEX_CHILDREN) throw new ScanFailure(`the index lists more than ${MAX_INDEX_CHILDREN} images`)
    const found: Component[] = []
    for (const child of children) {
      const digest = child.digest as string
      const platform = platformOf(child.platform)
      const where = `${platform} ${digest}`
      const bytes = await readCapped(await context.linked.open(hexOf(digest, 'child manifest'), `manifest ${digest}`), MAX_MANIFEST_BYTES, `manifest ${digest}`)
      const components = await scanImage(parseManifest(bytes), limits, { ...context, skip: (location, reason) => context.skip(`${where}: ${location}`, reason) })
      found.push(...components.map((c) => ({ ...c, location: `${where}: ${c.location}` })))
      if (found.length > limits.maxComponents) throw new ScanFailure(`more than ${limits.maxComponents} components`)
    }
    return found
  }
  return scanImage(manifest, limits, context)
}

function parseManifest(bytes: Buffer): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new ScanFailure('the manifest is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ScanFailure('the manifest is not a JSON object')
  const manifest = value as Record<string, unknown>
  if (manifest.schemaVersion === 1) throw new ScanFailure('Docker schema 1 manifests are not scanned')
  return manifest
}

/** Buildkit's attestation manifests (`unknown/unknown`, `vnd.docker.reference.type`) hold no file system. */
function isAttestation(descriptor: Record<string, unknown>): boolean {
  const annotations = descriptor.annotations as Record<string, unknown> | undefined
  return annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
}

function platformOf(value: unknown): string {
  const p = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  return [p.os, p.architecture, p.variant].filter((x) => typeof x === 'string' && x !== '').join('/') || 'unknown'
}

function hexOf(digest: string, what: string): string {
  const match = /^sha256:([a-f0-9]{64})$/.exec(digest)
  if (!match) throw new ScanFailure(`${what} ${digest} is not a sha256 digest`)
  return match[1]!
}

/** Layers that are file system tars (OCI and Docker, any compression, foreign ones too); others (a Helm chart, an SBOM) are not read. */
function isFileSystemLayer(mediaType: unknown): boolean {
  return typeof mediaType === 'string' && /^application\/vnd\.(?:oci\.image\.layer\.|docker\.image\.rootfs\.(?:foreign\.)?diff\.tar)/.test(mediaType)
}

const FOREIGN_LAYER_TYPE = /^application\/vnd\.(?:oci\.image\.layer\.nondistributable\.|docker\.image\.rootfs\.foreign\.diff\.)/

/**
 * A foreign layer: a non-distributable (image-spec; deprecated in v1.1, still pushed) or Docker
 * foreign media type, with `urls` that clients fetch it from. A repository may be allowed not to
 * hold one; Trove never fetches its `urls`, so the scanner skips one its repository does not hold.
 */
export function isForeignLayer(descriptor: { readonly mediaType?: unknown; readonly urls?: unknown }): boolean {
  return typeof descriptor.mediaType === 'string' && FOREIGN_LAYER_TYPE.test(descriptor.mediaType) && Array.isArray(descriptor.urls) && descriptor.urls.length > 0
}

async function scanImage(manifest: Record<string, unknown>, limits: ExtractionLimits, context: ExtractionContext): Promise<Component[]> {
  if (!Array.isArray(manifest.layers)) throw new ScanFailure('the manifest lists no layers')
  const layers = (manifest.layers as Record<string, unknown>[]).filter((l) => isFileSystemLayer(l.mediaType) && typeof l.digest === 'string')
  const held = new Map<string, Held>()
  let componentCount = 0
  const count = (n: number) => {
    componentCount += n
    if (componentCount > limits.maxComponents) throw new ScanFailure(`more than ${limits.maxComponents} components`)
  }
  /** Forgets what layers below `index` held at `path` and, unless `onlyBelow`, under it. */
  const forget = (path: string, index: number, withChildren: boolean, itself = true) => {
    const prefix = path === '' ? '' : `${path}/`
    for (const [key, value] of held) {
      if (value.layer.index >= index) continue
      if ((itself && key === path) || (withChildren && key.startsWith(prefix))) held.delete(key)
    }
  }

  for (const [index, descriptor] of layers.entries()) {
    const layer: LayerRef = { index, digest: descriptor.digest as string }
    const what = `layer ${index} (${layer.digest})`
    const hex = hexOf(layer.digest, 'layer')
    if (isForeignLayer(descriptor) && !(await context.linked.holds(hex))) {
      context.skip(what, 'a foreign layer (non-distributable, fetched by clients from its urls): the repository does not hold it and Trove never fetches it')
      continue
    }
    const budget = new UnpackBudget(limits, what)
    await walkTar(await context.linked.open(hex, what), budget, (path, entry) => {
      const name = posix.basename(path)
      const folder = path.includes('/') ? posix.dirname(path) : ''
      if (name === '.wh..wh..opq') {
        forget(folder, index, true, false)
        return undefined
      }
      if (name.startsWith('.wh.')) {
        forget(folder === '' ? name.slice(4) : `${folder}/${name.slice(4)}`, index, true)
        return undefined
      }
      if (entry.type === 'Directory') return undefined
      // Any other entry (a file, a link) replaces what lower layers had at this path.
      if (held.get(path)?.layer.index !== index) held.delete(path)
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return undefined // links are never followed
      const kind = wantedKind(path, context.installed)
      if (!kind) return undefined
      const where = `layer ${index} (${layer.digest}): ${path}`
      if (typeof kind !== 'string') {
        return async (stream) => {
          const components = await kind.read(Readable.from(stream), { path, where, size: entry.size }, limits, context)
          count(components.length)
          held.set(path, { kind: 'components', layer, components })
        }
      }
      switch (kind) {
        case 'identity':
          return async (stream) => {
            const text = (await readCapped(stream, MAX_SMALL_FILE_BYTES, where)).toString('utf8')
            held.set(path, { kind: 'identity', layer, text })
          }
        case 'dpkg':
        case 'apk':
          return async (stream) => {
            const text = (await readCapped(stream, limits.maxMetadataBytes, where)).toString('utf8')
            const packages = kind === 'dpkg' ? parseDpkgStatus(text) : parseApkInstalled(text)
            count(packages.length)
            held.set(path, { kind: 'os', db: kind, layer, packages })
          }
        case 'rpm':
          return async (stream) => {
            const file = join(context.scratchDir, `rpmdb-${index}.sqlite`)
            try {
              await spoolCapped(Readable.from(stream), file, MAX_SPOOLED_BYTES, where)
              const packages = readRpmSqlite(file, limits.maxComponents)
              count(packages.length)
              held.set(path, { kind: 'os', db: 'rpm', layer, packages })
            } finally {
              await rm(file, { force: true })
              await rm(`${file}-journal`, { force: true })
            }
          }
      }
    })
  }

  const identity = (path: string) => {
    const h = held.get(path)
    return h?.kind === 'identity' ? h.text : undefined
  }
  const osReleaseText = identity('etc/os-release') ?? identity('usr/lib/os-release')
  const os: OsIdentity = {
    osRelease: osReleaseText === undefined ? undefined : parseOsRelease(osReleaseText),
    debianVersion: identity('etc/debian_version')?.trim(),
    alpineRelease: identity('etc/alpine-release')?.trim(),
  }
  const found: Component[] = []
  const entries = [...held].sort(([a, x], [b, y]) => x.layer.index - y.layer.index || (a < b ? -1 : a > b ? 1 : 0))
  for (const [path, h] of entries) {
    if (h.kind === 'components') found.push(...h.components)
    if (h.kind !== 'os') continue
    const ecosystem = osEcosystem(h.db, os)
    const where = `layer ${h.layer.index} (${h.layer.digest}): ${path}`
    const sources = new Map<string, { name: string; version: string; binaries: string[] }>()
    for (const p of h.packages) {
      found.push({ ecosystem, name: p.name, version: p.version, relation: 'installed', location: where })
      if (!p.source) continue
      const key = `${p.source.name}\0${p.source.version}`
      const entry = sources.get(key) ?? { ...p.source, binaries: [] }
      entry.binaries.push(p.name)
      sources.set(key, entry)
    }
    // Advisories of Debian, Ubuntu and Alpine name source packages: each is listed once, with its binaries.
    for (const s of sources.values()) {
      if (h.packages.some((p) => p.name === s.name && p.version === s.version)) continue
      found.push({ ecosystem, name: s.name, version: s.version, relation: 'installed', location: `${where} (source of ${s.binaries.join(', ')})` })
    }
  }
  if (found.length > limits.maxComponents) throw new ScanFailure(`more than ${limits.maxComponents} components`)
  return found
}

const MANIFEST_NAMES = ['manifest.json', 'list.manifest.json']

/**
 * The manifest file of a docker repository that a report path names, in the forms people write:
 * `<image>/<tag>`, `<image>:<tag>`, `<image>@sha256:<hex>` or `<image>/sha256:<hex>` (the layout
 * keeps `<image>/<tag>/manifest.json`, `list.manifest.json` for an index). Undefined when none.
 */
export async function resolveImageFile(path: string, files: RepositoryFiles): Promise<string | undefined> {
  const digest = /^(.+?)(?:@|\/)sha256:([a-f0-9]{64})$/.exec(path)
  if (digest) {
    const image = digest[1]!
    const paths = await files.withContent(digest[2]!, image)
    // A manifest directly in a tag or digest folder of this image (not of an image nested below it).
    return paths.find((p) => MANIFEST_NAMES.includes(posix.basename(p)) && posix.dirname(posix.dirname(p)) === image)
  }
  const colon = path.lastIndexOf(':')
  const folder = colon > path.lastIndexOf('/') && colon > 0 ? `${path.slice(0, colon)}/${path.slice(colon + 1)}` : path
  const found = await files.existing(MANIFEST_NAMES.map((n) => `${folder}/${n}`))
  return MANIFEST_NAMES.map((n) => `${folder}/${n}`).find((p) => found.includes(p))
}
