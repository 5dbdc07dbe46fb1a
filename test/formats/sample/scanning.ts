import type { Readable } from 'node:stream'
import { readLimited, ScanFailure, type Component, type ExtractionLimits, type FormatScanning } from '../../../src/core/index.js'

/**
 * A sample package is a small text file, `<name>-<version>.sample`:
 * `name: <name>`, `version: <version>` and any number of `requires: <name> <version>` lines.
 */
export function parseSamplePackage(text: string): { name: string; version: string; requires: { name: string; version: string }[] } {
  const fields = text.split('\n').map((line) => /^(\w+):\s*(.*?)\s*$/.exec(line)).filter((m) => m !== null)
  const value = (key: string) => fields.find((m) => m[1] === key)?.[2]
  const name = value('name')
  const version = value('version')
  if (!name || !version) throw new ScanFailure('a sample package names its name and version')
  const requires = fields.filter((m) => m[1] === 'requires').map((m) => m[2]!.split(/\s+/))
  return { name, version, requires: requires.map(([n = '', v = '']) => ({ name: n, version: v })) }
}

/** Numeric dotted versions, compared part by part (`1.10.0` > `1.9.0`). */
export function compareSampleVersions(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)]
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0 && !Number.isNaN(d)) return d
  }
  return 0
}

export const sampleScanning: FormatScanning = {
  extractors: [
    {
      format: 'sample',
      accepts: (_repository, path) => path.endsWith('.sample'),
      async extract(source: Readable, limits: ExtractionLimits): Promise<Component[]> {
        const text = (await readLimited(source, limits.maxMetadataBytes, () => new ScanFailure('the sample package is over the metadata limit'))).toString('utf8')
        const pkg = parseSamplePackage(text)
        return [
          { ecosystem: 'Sample', name: pkg.name, version: pkg.version, relation: 'self', location: `${pkg.name}-${pkg.version}.sample` },
          ...pkg.requires.map((r) => ({ ecosystem: 'Sample', name: r.name, version: r.version, relation: 'dependency' as const, location: `${pkg.name}-${pkg.version}.sample` })),
        ]
      },
    },
  ],
  ecosystems: [{ osv: 'Sample', compare: compareSampleVersions, purl: (name, version) => `pkg:sample/${name}@${version}` }],
}
