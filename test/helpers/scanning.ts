import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Parser, type ReadEntry } from 'tar'
import { packTarball } from './npm.js'

/** The real OSV records the scanning tests import (with EXPECTED.md, the ground truth). */
export const OSV_FIXTURES = join(import.meta.dirname, '../fixtures/osv')

/** The names of the fixture records' files, sorted. */
export async function fixtureFiles(): Promise<string[]> {
  return (await readdir(OSV_FIXTURES)).filter((f) => f.endsWith('.json')).sort()
}

/** Every fixture record, parsed, in file-name order. */
export async function fixtureRecords(): Promise<Record<string, unknown>[]> {
  return Promise.all((await fixtureFiles()).map(async (f) => JSON.parse(await readFile(join(OSV_FIXTURES, f), 'utf8')) as Record<string, unknown>))
}

/**
 * lodash 4.17.15 for the scanning suites, built here: no test fetches the real package. The
 * fixtures match by name and version (EXPECTED.md rows 2 to 4), so a package with the real one's
 * package.json fields that matter and a small payload finds the same advisories.
 */
export async function lodashTarball(): Promise<Buffer> {
  const packageJson = { name: 'lodash', version: '4.17.15', description: 'Lodash modular utilities.', license: 'MIT', main: 'lodash.js', keywords: ['modules', 'stdlib', 'util'] }
  return packTarball({
    'package.json': JSON.stringify(packageJson, null, 2),
    'lodash.js': 'exports.identity = (value) => value\nexports.VERSION = "4.17.15"\n',
    'README.md': '# lodash 4.17.15\n\nA stand-in built by the Trove tests.\n',
  })
}

/** The package.json inside an npm package tarball (publishing must send exactly it). */
export async function packageJsonOf(tarball: Buffer): Promise<Record<string, unknown>> {
  let text = ''
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        if (entry.path !== 'package/package.json') return entry.resume()
        entry.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
      },
    })
    parser.on('end', resolve)
    parser.on('error', reject)
    parser.end(tarball)
  })
  return JSON.parse(text) as Record<string, unknown>
}
