import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Parser, type ReadEntry } from 'tar'

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
