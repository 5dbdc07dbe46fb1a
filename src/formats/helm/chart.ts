import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import semver from 'semver'
import { Parser, type ReadEntry } from 'tar'
import { parse as parseYaml } from 'yaml'
import { TroveError } from '../../core/index.js'

/** A chart's `Chart.yaml`, as parsed: Helm's chart metadata (name, version, appVersion, …). */
export type ChartMetadata = Readonly<Record<string, unknown>> & { readonly name: string; readonly version: string }

export interface ChartLimits {
  /** Largest `Chart.yaml` read (Helm charts have a few hundred bytes). */
  readonly maxChartYamlBytes: number
  /** Decompressed bytes read while looking for `Chart.yaml` (a gzip bomb stops here). */
  readonly maxScanBytes: number
}

export const CHART_LIMITS: ChartLimits = {
  maxChartYamlBytes: 1024 * 1024,
  // Helm's own default limit on a chart's decompressed size.
  maxScanBytes: 100 * 1024 * 1024,
}

/** A chart archive's file name: `<name>-<version>.tgz` (the version may contain `-`, so only a full match says which). */
export const isChartFile = (path: string) => path.endsWith('.tgz')
export const isProvenanceFile = (path: string) => path.endsWith('.tgz.prov')

/**
 * SemVer 2, as Helm requires for chart versions. `semver.parse` would also accept a leading `v`,
 * `=` or spaces and normalise them away; the file name must carry the version as written, so only
 * the strict form passes.
 */
export function isSemver2(version: string): boolean {
  return /^[0-9]/.test(version) && semver.parse(version) !== null && semver.parse(version)!.raw === version
}

/** Newest first, as Helm lists versions in `index.yaml`; equal precedence (build metadata) by text. */
export function compareVersionsDescending(a: string, b: string): number {
  const byPrecedence = isSemver2(a) && isSemver2(b) ? semver.rcompare(a, b) : 0
  return byPrecedence !== 0 ? byPrecedence : a < b ? 1 : a > b ? -1 : 0
}

/**
 * Reads the top-level `<dir>/Chart.yaml` of a chart archive (a gzipped tar) as it streams: entries
 * before it are skipped without being kept, reading stops as soon as it is found, and nothing but
 * `Chart.yaml` itself (bounded) is ever held. Throws BAD_REQUEST for anything that is not a chart
 * archive, PAYLOAD_TOO_LARGE for an oversized Chart.yaml.
 */
export async function readChartYaml(source: Readable, limits: ChartLimits = CHART_LIMITS): Promise<{ readonly dir: string; readonly text: string }> {
  const gunzip = createGunzip()
  const parser = new Parser({ strict: true })
  return new Promise((resolve, reject) => {
    let isSettled = false
    let scanned = 0
    const finish = (err: Error | undefined, value?: { dir: string; text: string }) => {
      if (isSettled) return
      isSettled = true
      source.unpipe(gunzip)
      source.destroy()
      gunzip.destroy()
      parser.removeAllListeners('entry')
      if (err) reject(err)
      else resolve(value!)
    }
    const notAChart = (why: string) => new TroveError('BAD_REQUEST', `not a Helm chart: ${why}`)

    parser.on('entry', (entry: ReadEntry) => {
      const parts = entry.path.replace(/^\.\//, '').split('/')
      if (parts.length !== 2 || parts[1] !== 'Chart.yaml' || parts[0] === '' || entry.type !== 'File') {
        entry.resume()
        return
      }
      if (entry.size > limits.maxChartYamlBytes) {
        finish(new TroveError('PAYLOAD_TOO_LARGE', `Chart.yaml is ${entry.size} bytes; at most ${limits.maxChartYamlBytes} are accepted`))
        return
      }
      const chunks: Buffer[] = []
      entry.on('data', (chunk: Buffer) => chunks.push(chunk))
      entry.on('end', () => finish(undefined, { dir: parts[0]!, text: Buffer.concat(chunks).toString('utf8') }))
    })
    parser.on('error', (err: Error) => finish(notAChart(`the archive is not a valid tar file (${err.message})`)))
    parser.on('end', () => finish(notAChart('the archive has no <name>/Chart.yaml')))

    gunzip.on('data', (chunk: Buffer) => {
      scanned += chunk.length
      if (scanned > limits.maxScanBytes) {
        finish(new TroveError('PAYLOAD_TOO_LARGE', `no Chart.yaml within the first ${limits.maxScanBytes} decompressed bytes`))
        return
      }
      if (!parser.write(chunk)) {
        gunzip.pause()
        parser.once('drain', () => gunzip.resume())
      }
    })
    gunzip.on('end', () => parser.end())
    gunzip.on('error', () => finish(notAChart('the file is not gzip-compressed')))
    source.on('error', (err) => finish(err))
    source.pipe(gunzip)
  })
}

/** Parses and checks a `Chart.yaml`: a mapping with a name and a SemVer 2 version, in a folder named after the chart. */
export function parseChartYaml(text: string, dir: string): ChartMetadata {
  let parsed: unknown
  try {
    parsed = parseYaml(text, { maxAliasCount: 100, prettyErrors: false })
  } catch (err) {
    throw new TroveError('BAD_REQUEST', `not a Helm chart: Chart.yaml is not valid YAML (${(err as Error).message.split('\n')[0]})`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TroveError('BAD_REQUEST', 'not a Helm chart: Chart.yaml is not a mapping')
  }
  const chart = parsed as Record<string, unknown>
  const { name, version } = chart
  if (typeof name !== 'string' || name === '') throw new TroveError('BAD_REQUEST', 'not a Helm chart: Chart.yaml has no name')
  if (typeof version !== 'string' && typeof version !== 'number') {
    throw new TroveError('BAD_REQUEST', `not a Helm chart: Chart.yaml of '${name}' has no version`)
  }
  const versionText = String(version)
  if (!isSemver2(versionText)) {
    throw new TroveError('BAD_REQUEST', `chart '${name}' has version '${versionText}', which is not a SemVer 2 version (such as 1.2.3 or 1.2.3-rc.1)`)
  }
  if (dir !== name) throw new TroveError('BAD_REQUEST', `not a Helm chart: Chart.yaml of '${name}' is in folder '${dir}/', not '${name}/'`)
  return { ...chart, name, version: versionText }
}

/**
 * Checks that a chart archive's file name is `<name>-<version>.tgz` for the Chart.yaml inside:
 * Helm clients and Trove's index find a chart by that name.
 */
export function assertFileNameMatches(fileName: string, chart: ChartMetadata): void {
  const expected = `${chart.name}-${chart.version}.tgz`
  if (fileName !== expected) {
    throw new TroveError(
      'CONFLICT',
      `the file name '${fileName}' does not match its Chart.yaml (name '${chart.name}', version '${chart.version}'): it must be '${expected}'`,
    )
  }
}
