import type { SetupContext, Snippet } from '../../api/formats.js'
import type { UiCell, UiSection, UiVersionSummary } from '../../api/packages.js'
import { fileTotals, nameOf, packageFile, parentOf, type Asset, type FormatTables, type PackageFiles } from '../../core/index.js'
import type { PackageViews } from '../format.js'
import { setupTarget } from '../set-me-up.js'
import { INDEX_FILE, MANIFEST_FILES, UPLOADS_FOLDER, blobFileName, digestFolder, tagFolder, tagOfFolder } from './layout.js'
import type { OciTables } from './tables.js'

const DIGEST = /^sha256:([a-f0-9]{64})$/

/** One manifest of an image as the layout stores it: in a tag's folder or, untagged, in a digest's. */
interface StoredManifest {
  readonly image: string
  readonly folder: string
  /** The tag, or `undefined` for a digest folder. */
  readonly tag: string | undefined
  readonly asset: Asset
  readonly isIndex: boolean
}

interface ManifestBody {
  readonly mediaType?: string
  readonly artifactType?: string
  readonly config?: { readonly digest: string; readonly size: number; readonly mediaType?: string }
  readonly layers?: readonly { readonly digest: string; readonly size: number; readonly mediaType?: string }[]
  readonly manifests?: readonly { readonly digest: string; readonly size: number; readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string } }[]
  readonly annotations?: Readonly<Record<string, string>>
}

interface ImageConfig {
  readonly architecture?: string
  readonly os?: string
  readonly created?: string
  readonly config?: {
    readonly Entrypoint?: readonly string[] | null
    readonly Cmd?: readonly string[] | null
    readonly Env?: readonly string[] | null
    readonly Labels?: Readonly<Record<string, string>> | null
    readonly WorkingDir?: string
    readonly User?: string
    readonly ExposedPorts?: Readonly<Record<string, unknown>> | null
  }
  readonly history?: readonly { readonly created?: string; readonly created_by?: string; readonly empty_layer?: boolean; readonly comment?: string }[]
}

/** The registry's manifests of a repository's files, by image. */
function manifestsOf(files: readonly Asset[]): Map<string, StoredManifest[]> {
  const images = new Map<string, StoredManifest[]>()
  for (const asset of files) {
    if (!MANIFEST_FILES.includes(asset.name)) continue
    const folder = parentOf(asset.path)
    const image = parentOf(folder)
    const folderName = nameOf(folder)
    if (image === '' || folderName === UPLOADS_FOLDER) continue
    const list = images.get(image) ?? []
    list.push({ image, folder, tag: tagOfFolder(folderName), asset, isIndex: asset.name === INDEX_FILE })
    images.set(image, list)
  }
  return images
}

const digestOf = (m: StoredManifest) => `sha256:${m.asset.sha256}`
const versionOf = (m: StoredManifest) => m.tag ?? digestOf(m)
const newestFirst = (a: { asset: Asset }, b: { asset: Asset }) => b.asset.modifiedAt - a.asset.modifiedAt

/**
 * Images as packages: an image's versions are its tags (each with its manifest's digest) and its
 * untagged manifests (a multi-arch index's platforms, referrers such as signatures and SBOMs, a
 * manifest whose tag moved on), read from the layout (layout.ts) and the referrers table.
 */
export function ociPackageViews(tables: FormatTables<OciTables>): PackageViews {
  async function referrersOf(digest: string, stored: ReadonlySet<string>) {
    const rows = await tables.db.selectFrom('oci_referrers').selectAll().where('subject', '=', digest).orderBy('created_at').execute()
    return rows.filter((r) => stored.has(r.digest))
  }

  async function summaries(files: PackageFiles, image: string, manifests: readonly StoredManifest[]): Promise<UiVersionSummary[]> {
    // Index children and referrers are untagged but belong to a tag: named as such.
    const roles = new Map<string, string>()
    const stored = new Set(manifests.map(digestOf))
    for (const m of manifests) {
      if (m.tag === undefined) continue
      if (m.isIndex) for (const child of (await readJson<ManifestBody>(files, m.asset)).manifests ?? []) roles.set(child.digest, `platform of ${m.tag}`)
      for (const r of await referrersOf(digestOf(m), stored)) roles.set(r.digest, `refers to ${m.tag}`)
    }
    const all = await files.below(image)
    return [...manifests].sort(newestFirst).map((m) => {
      const totals = fileTotals(all.filter((f) => parentOf(f.path) === m.folder))
      const labels = [...(m.tag === 'latest' ? ['latest'] : []), ...(m.isIndex ? ['multi-platform'] : []), ...(m.tag === undefined ? [roles.get(digestOf(m)) ?? 'untagged'] : [])]
      return { version: versionOf(m), labels, digest: digestOf(m), size: totals.size, updatedAt: totals.updatedAt, ...optional(totals) }
    })
  }

  return {
    async list(files) {
      const all = await files.below('')
      return [...manifestsOf(all)].map(([image, manifests]) => {
        const tagged = manifests.filter((m) => m.tag !== undefined).sort(newestFirst)
        const latest = tagged.find((m) => m.tag === 'latest') ?? tagged[0]
        const totals = fileTotals(all.filter((f) => f.path.startsWith(`${image}/`) && manifests.some((m) => parentOf(f.path) === m.folder)))
        return {
          name: image,
          ...(latest ? { latestVersion: latest.tag } : {}),
          versionCount: tagged.length,
          updatedAt: totals.updatedAt,
          size: totals.size,
          ...(totals.cachedAt ? { cachedAt: totals.cachedAt } : {}),
        }
      })
    },

    async package(files, name) {
      const manifests = manifestsOf(await files.below(name)).get(name)
      if (!manifests) return undefined
      return { name, versions: await summaries(files, name, manifests) }
    },

    async version(files, name, version, setup) {
      const hex = DIGEST.exec(version)?.[1]
      const all = await files.below(name)
      const manifests = manifestsOf(all).get(name) ?? []
      // A digest names its tag's manifest too, when no digest folder holds it.
      const manifest = hex
        ? (manifests.find((m) => m.folder === digestFolder(name, hex)) ?? manifests.find((m) => m.asset.sha256 === hex))
        : manifests.find((m) => m.folder === tagFolder(name, version))
      if (!manifest) return undefined
      const body = await readJson<ManifestBody>(files, manifest.asset)
      const inFolder = all.filter((f) => parentOf(f.path) === manifest.folder)
      const totals = fileTotals(inFolder)
      const stored = new Set(manifests.map(digestOf))
      const sections: UiSection[] = []
      if (manifest.isIndex) sections.push(platformsOf(body, stored))
      else {
        sections.push(layersOf(body))
        const config = body.config && inFolder.find((f) => f.name === blobFileName(body.config!.digest.replace(/^sha256:/, '')))
        if (config && /json/.test(body.config?.mediaType ?? 'json') && !body.artifactType) sections.push(...configSections(await readJson<ImageConfig>(files, config)))
        else if (body.artifactType || body.config) sections.push({ kind: 'pairs', title: 'Artifact', pairs: [['Artifact type', body.artifactType ?? body.config?.mediaType ?? '']] })
      }
      const referrers = await referrersOf(digestOf(manifest), stored)
      sections.push({
        kind: 'table',
        title: 'Referrers',
        columns: ['Artifact type', 'Digest'],
        rows: referrers.map((r) => [r.artifact_type ?? '', { text: r.digest, version: r.digest }]),
        empty: 'No signatures, SBOMs or other artifacts refer to this manifest.',
      })
      const labels = manifest.tag === undefined ? ['untagged'] : manifest.tag === 'latest' ? ['latest'] : []
      return {
        name,
        version: versionOf(manifest),
        labels: [...labels, ...(manifest.isIndex ? ['multi-platform'] : [])],
        digest: digestOf(manifest),
        size: totals.size,
        updatedAt: totals.updatedAt,
        downloadCount: totals.downloadCount,
        ...optional(totals),
        ...(body.annotations?.['org.opencontainers.image.description'] ? { description: body.annotations['org.opencontainers.image.description'] } : {}),
        install: pullCommands(setup, name, manifest.tag, digestOf(manifest)),
        files: inFolder.map(packageFile),
        sections,
        treePath: manifest.folder,
      }
    },
  }
}

function optional(totals: { downloadedAt?: string; cachedAt?: string }): { downloadedAt?: string; cachedAt?: string } {
  return { ...(totals.downloadedAt ? { downloadedAt: totals.downloadedAt } : {}), ...(totals.cachedAt ? { cachedAt: totals.cachedAt } : {}) }
}

async function readJson<T>(files: PackageFiles, asset: Asset): Promise<T> {
  try {
    return JSON.parse(await files.text(asset)) as T
  } catch (err) {
    if (err instanceof SyntaxError) return {} as T // stored before validation was strict: shown without details
    throw err
  }
}

function platformsOf(body: ManifestBody, stored: ReadonlySet<string>): UiSection {
  return {
    kind: 'table',
    title: 'Platforms',
    columns: ['Platform', 'Digest', 'Size'],
    rows: (body.manifests ?? []).map((m) => {
      const p = m.platform
      const platform = p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown'
      const digest: UiCell = stored.has(m.digest) ? { text: m.digest, version: m.digest } : m.digest
      return [platform, digest, bytes(m.size)]
    }),
    empty: 'The index lists no manifests.',
  }
}

function layersOf(body: ManifestBody): UiSection {
  return {
    kind: 'table',
    title: 'Layers',
    columns: ['#', 'Digest', 'Media type', 'Size'],
    rows: (body.layers ?? []).map((l, i) => [String(i + 1), l.digest, l.mediaType ?? '', bytes(l.size)]),
    empty: 'This manifest has no layers.',
  }
}

function configSections(config: ImageConfig): UiSection[] {
  const c = config.config ?? {}
  const pairs: [string, string][] = []
  const add = (label: string, value: string | undefined) => value && pairs.push([label, value])
  add('Platform', [config.os, config.architecture].filter(Boolean).join('/'))
  add('Created', config.created)
  add('Entrypoint', c.Entrypoint?.join(' '))
  add('Command', c.Cmd?.join(' '))
  add('Working directory', c.WorkingDir)
  add('User', c.User)
  add('Exposed ports', c.ExposedPorts ? Object.keys(c.ExposedPorts).join(', ') : undefined)
  return [
    { kind: 'pairs', title: 'Configuration', pairs },
    { kind: 'list', title: 'Environment', items: [...(c.Env ?? [])], empty: 'No environment variables.' },
    { kind: 'table', title: 'Labels', columns: ['Label', 'Value'], rows: Object.entries(c.Labels ?? {}).map(([k, v]) => [k, v]), empty: 'No labels.' },
    {
      kind: 'table',
      title: 'History',
      columns: ['Created', 'Step', 'Layer'],
      rows: (config.history ?? []).map((h) => [h.created ?? '', h.created_by ?? h.comment ?? '', h.empty_layer ? 'no layer' : 'layer']),
      empty: 'The image records no history.',
    },
  ]
}

function bytes(size: number): string {
  return `${size} B`
}

/** docker and podman pulls of this very image, by tag and by digest. */
function pullCommands(setup: SetupContext, image: string, tag: string | undefined, digest: string): Snippet[] {
  const { host, isPlainHttp } = setupTarget(setup)
  const name = `${host}/${setup.key}/${image}`
  const reference = tag === undefined ? `${name}@${digest}` : `${name}:${tag}`
  const tls = isPlainHttp ? ' --tls-verify=false' : ''
  return [
    { id: 'docker-pull', title: 'Pull with docker', description: tag === undefined ? 'Untagged: pulled by its digest.' : 'By its tag.', text: `docker pull ${reference}` },
    { id: 'podman-pull', title: 'Pull with podman', description: 'By its digest, which never moves.', text: `podman pull${tls} ${name}@${digest}` },
  ]
}
