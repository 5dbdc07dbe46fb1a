import { parse as parseYaml, stringify } from 'yaml'
import { TroveError } from '../../core/index.js'
import { compareVersionsDescending } from './chart.js'

/**
 * One chart version of an `index.yaml` (Helm's `ChartVersion`): the chart's Chart.yaml fields,
 * plus where to download it (`urls`), its sha256 (`digest`) and when it was added (`created`).
 */
export interface IndexEntry {
  readonly name: string
  readonly version: string
  /** Chart.yaml fields (and, from an upstream index, any other field it had), without urls/digest/created. */
  readonly fields: Readonly<Record<string, unknown>>
  readonly urls: readonly string[]
  readonly digest?: string | undefined
  readonly created?: string | undefined
}

/** Fields an index entry gets from where the chart is stored, never from Chart.yaml. */
const LOCATION_FIELDS = new Set(['urls', 'digest', 'created', 'removed'])

const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/

export const INDEX_CONTENT_TYPE = 'application/x-yaml'

/**
 * Renders Helm's repository index (apiVersion v1): `entries` keyed by chart name (sorted), each
 * list newest version first by SemVer precedence, as `helm repo index` writes it.
 */
export function renderIndex(entries: readonly IndexEntry[], generated: Date): string {
  const byName = new Map<string, IndexEntry[]>()
  for (const entry of entries) byName.set(entry.name, [...(byName.get(entry.name) ?? []), entry])
  const names = [...byName.keys()].sort()
  const document = {
    apiVersion: 'v1',
    entries: Object.fromEntries(
      names.map((name) => [
        name,
        byName
          .get(name)!
          .sort((a, b) => compareVersionsDescending(a.version, b.version))
          .map((e) => {
            const fields = Object.fromEntries(Object.entries(e.fields).filter(([k]) => !LOCATION_FIELDS.has(k)))
            return {
              ...fields,
              name: e.name,
              version: e.version,
              ...(e.created ? { created: e.created } : {}),
              ...(e.digest ? { digest: e.digest } : {}),
              urls: [...e.urls],
            }
          }),
      ]),
    ),
    generated: generated.toISOString(),
  }
  return stringify(document, { lineWidth: 0 })
}

/** An upstream index's entry, with its download URL resolved to an absolute one. */
export interface UpstreamEntry extends IndexEntry {
  /** The first of the entry's `urls`, resolved against the upstream repository URL. */
  readonly upstreamUrl: string
}

/**
 * Parses an upstream `index.yaml`, resolving relative chart URLs as Helm does: against the
 * repository URL with a trailing slash (`<url>/`), so `charts/a-1.0.0.tgz` and `a-1.0.0.tgz`
 * both work, and absolute URLs are kept. Entries without a version or a URL are skipped.
 */
export function parseUpstreamIndex(text: string, repositoryUrl: string): UpstreamEntry[] {
  let parsed: unknown
  try {
    parsed = parseYaml(text, { maxAliasCount: 1000, prettyErrors: false })
  } catch (err) {
    throw new TroveError('UPSTREAM_UNAVAILABLE', `the upstream index.yaml is not valid YAML: ${(err as Error).message.split('\n')[0]}`)
  }
  const entries = (parsed as { entries?: unknown } | null)?.entries
  if (parsed === null || typeof parsed !== 'object' || (entries !== undefined && (entries === null || typeof entries !== 'object'))) {
    throw new TroveError('UPSTREAM_UNAVAILABLE', 'the upstream index.yaml is not a Helm repository index (no entries mapping)')
  }
  const base = repositoryUrl.endsWith('/') ? repositoryUrl : `${repositoryUrl}/`
  const result: UpstreamEntry[] = []
  for (const [name, versions] of Object.entries((entries ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(versions)) continue
    for (const version of versions as unknown[]) {
      if (version === null || typeof version !== 'object') continue
      const fields = version as Record<string, unknown>
      const urls = Array.isArray(fields.urls) ? fields.urls.filter((u): u is string => typeof u === 'string') : []
      const text = typeof fields.version === 'string' ? fields.version : typeof fields.version === 'number' ? String(fields.version) : undefined
      if (text === undefined || urls.length === 0) continue
      // Names and versions become a file name in the cache (remoteChartPath): nothing that could climb out of it.
      if (!SAFE_FILE_NAME.test(`${name}-${text}`)) continue
      let upstreamUrl: string
      try {
        upstreamUrl = new URL(urls[0]!, base).toString()
      } catch {
        continue
      }
      const digest = typeof fields.digest === 'string' ? fields.digest.replace(/^sha256:/, '').toLowerCase() : undefined
      result.push({
        name,
        version: text,
        fields,
        urls,
        digest: digest && /^[a-f0-9]{64}$/.test(digest) ? digest : undefined,
        created: typeof fields.created === 'string' ? fields.created : fields.created instanceof Date ? fields.created.toISOString() : undefined,
        upstreamUrl,
      })
    }
  }
  return result
}

/** Where a remote repository keeps an upstream chart: one folder, whatever the upstream's URL looked like. */
export function remoteChartPath(name: string, version: string): string {
  return `charts/${name}-${version}.tgz`
}

/** A repository path as a relative URL in an index (resolved by Helm against the repository URL). */
export function relativeUrl(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}
