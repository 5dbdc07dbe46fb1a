/**
 * The scanning suite of `npm run bench` (issue 8's quality bar), run in this process against a
 * Trove on a fresh SQLite data folder (the scanner is a job inside the server: what is measured
 * is its scan, not HTTP):
 *
 * 1. Scan throughput of a ~200 MiB image generated here and pushed through the registry API: 12
 *    gzipped layers holding a Debian root with a 3,000-package dpkg status, ~12,000
 *    `node_modules/**\/package.json` files spread over the layers, a few jars, a whiteout, and
 *    incompressible filler files; `Scanner.scan` (stream every layer from the blob store,
 *    extract, store the components, match them) is timed, as MiB/s of stored (compressed) layer
 *    bytes, MiB/s unpacked, and components/s. Median of `BENCH_SCAN_ROUNDS` rounds (default 3).
 * 2. Re-matching 100,000 stored components after a database update: 1,000 blobs of 100
 *    components each (npm, PyPI, Maven and Debian packages, some named by the OSV fixtures) are
 *    stored, the fixtures imported, then every record is re-imported with a newer `modified`;
 *    the `scan-rematch` job that import queues is timed (all changed packages), and a full
 *    re-match of every stored blob too.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { pino } from 'pino'
import { loadConfig } from '../src/config/config.js'
import { configSections } from '../src/formats/format.js'
import { FORMATS } from '../src/formats/index.js'
import { createTrove, type Trove } from '../src/main.js'
import { emptySummary } from '../src/core/scanning/vulndb.js'
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, blobOf, type Blob } from '../test/helpers/oci-images.js'
import { dpkgParagraph, jarOf, tarOfItems, type TarItem } from '../test/helpers/scan-archives.js'
import type { SuiteContext } from './oci.js'
import { median, positiveInteger } from './report.js'

const ROUNDS = positiveInteger('BENCH_SCAN_ROUNDS', 3)
const MiB = 1024 * 1024
const LAYERS = 12
const DPKG_PACKAGES = 3000
const NODE_PACKAGES_PER_LAYER = 1000
const FILLER_PER_LAYER = 16 * MiB
const STORED_BLOBS = 1000
const COMPONENTS_PER_BLOB = 100
const ADMIN_PASSWORD = 'bench-admin-password'
const OSV = join(import.meta.dirname, '../test/fixtures/osv')

export async function scanningSuite({ workDir, report }: SuiteContext): Promise<void> {
  console.log(`\n== scanning: image scan throughput and re-matching ${STORED_BLOBS * COMPONENTS_PER_BLOB} stored components; ${ROUNDS} rounds`)
  await mkdir(workDir, { recursive: true })
  const config = loadConfig({
    sections: configSections(FORMATS),
    env: {},
    overrides: { host: '127.0.0.1', port: 0, dataDir: join(workDir, 'data'), adminPassword: ADMIN_PASSWORD, log: { level: 'warn' } },
  })
  const trove = await createTrove(config, { logger: pino({ level: 'warn' }) })
  const url = await trove.listen()
  try {
    const auth = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`
    await call(url, 'PUT', '/artifactory/api/repositories/bench-docker', auth, JSON.stringify({ rclass: 'local', packageType: 'docker' }), 'application/json')

    process.stdout.write('generating and pushing the image… ')
    const image = buildBenchImage()
    for (const blob of [image.config, ...image.layers]) {
      await call(url, 'POST', `/v2/bench-docker/bench/image/blobs/uploads/?digest=${blob.descriptor.digest}`, auth, blob.bytes, 'application/octet-stream', 201)
    }
    await call(url, 'PUT', '/v2/bench-docker/bench/image/manifests/v1', auth, image.manifest.bytes, OCI_MANIFEST, 201)
    const stored = image.layers.reduce((sum, l) => sum + l.bytes.length, 0)
    console.log(`${(stored / MiB).toFixed(0)} MiB in ${LAYERS} layers (${(image.unpacked / MiB).toFixed(0)} MiB unpacked)`)

    const { scanner, vulndb } = trove.services
    await importFixtures(trove)
    const hex = image.manifest.descriptor.digest.slice(7)
    const seconds: number[] = []
    let components = 0
    for (let round = 0; round < ROUNDS; round++) {
      const started = process.hrtime.bigint()
      const result = await scanner.scan({ repoKey: 'bench-docker', sha256: hex }, 'oci')
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9
      if (result.status !== 'done') throw new Error(`the bench image scan failed: ${result.reason}`)
      components = result.components
      seconds.push(elapsed)
      console.log(`round ${round + 1}/${ROUNDS}: ${elapsed.toFixed(2)} s, ${components} components`)
    }
    const s = median(seconds)

    // 2. Re-matching after a database update.
    process.stdout.write(`\nstoring ${STORED_BLOBS * COMPONENTS_PER_BLOB} components… `)
    await storeComponents(trove)
    console.log('done')
    const rematchSeconds: number[] = []
    const fullSeconds: number[] = []
    let changed = 0
    let rematched = 0
    let fullBlobs = 0
    for (let round = 0; round < ROUNDS; round++) {
      const summary = emptySummary()
      const records = await fixtureRecords(`2100-01-0${round + 1}T00:00:00Z`)
      await vulndb.importRecords(records, summary)
      changed = summary.changedPackages.size
      let started = process.hrtime.bigint()
      rematched = await scanner.rematch([...summary.changedPackages])
      rematchSeconds.push(Number(process.hrtime.bigint() - started) / 1e9)
      started = process.hrtime.bigint()
      fullBlobs = await scanner.rematch()
      fullSeconds.push(Number(process.hrtime.bigint() - started) / 1e9)
      console.log(`round ${round + 1}/${ROUNDS}: changed packages ${rematchSeconds.at(-1)!.toFixed(2)} s (${rematched} blobs), every blob ${fullSeconds.at(-1)!.toFixed(2)} s (${fullBlobs} blobs)`)
    }

    report.table(`Scan of a ${(stored / MiB).toFixed(0)} MiB image (${LAYERS} layers, ${components} components), median of ${ROUNDS}`, [
      ['seconds', 'MiB/s stored', 'MiB/s unpacked', 'components/s'],
      [s.toFixed(2), (stored / MiB / s).toFixed(1), (image.unpacked / MiB / s).toFixed(1), (components / s).toFixed(0)],
    ])
    const total = STORED_BLOBS * COMPONENTS_PER_BLOB
    report.table(`Re-matching ${total} stored components after a database update (${changed} changed packages), median of ${ROUNDS}`, [
      ['what', 'blobs', 'seconds', 'components/s'],
      ['changed packages (the scan-rematch job)', String(rematched), median(rematchSeconds).toFixed(2), (rematched * COMPONENTS_PER_BLOB / median(rematchSeconds)).toFixed(0)],
      ['every stored blob', String(fullBlobs), median(fullSeconds).toFixed(2), ((fullBlobs * COMPONENTS_PER_BLOB) / median(fullSeconds)).toFixed(0)],
    ])
  } finally {
    await trove.close()
  }
}

async function call(url: string, method: string, path: string, auth: string, body: Buffer | string, contentType: string, expected = 200): Promise<void> {
  const response = await fetch(`${url}${path}`, { method, headers: { authorization: auth, 'content-type': contentType }, body })
  if (response.status !== expected) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
}

async function fixtureRecords(modified?: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(OSV)).filter((f) => f.endsWith('.json'))
  return Promise.all(
    files.map(async (f) => {
      const record = JSON.parse(await readFile(join(OSV, f), 'utf8')) as Record<string, unknown>
      return modified ? { ...record, modified } : record
    }),
  )
}

async function importFixtures(trove: Trove): Promise<void> {
  await trove.services.vulndb.importRecords(await fixtureRecords(), emptySummary())
}

/** The bench image: a Debian root, many node packages, jars, a whiteout, incompressible filler. */
function buildBenchImage(): { manifest: Blob; config: Blob; layers: Blob[]; unpacked: number } {
  const layers: Blob[] = []
  let unpacked = 0
  const status = Array.from({ length: DPKG_PACKAGES }, (_, i) =>
    i === 0 ? dpkgParagraph('nginx-full', '1.2.1-2.2+wheezy2', 'nginx') : dpkgParagraph(`lib-bench-${i}`, `1.${i % 50}.${i % 7}-${i % 3}+deb7u1`, i % 4 === 0 ? `src-bench-${i >> 2}` : undefined),
  ).join('\n')
  const famous = [['lodash', '4.17.15'], ['minimist', '1.2.0'], ['qs', '6.5.2'], ['express', '4.17.1'], ['semver', '5.7.1']]
  for (let layer = 0; layer < LAYERS; layer++) {
    const items: TarItem[] = []
    if (layer === 0) {
      items.push({ path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="7"\n' }, { path: 'var/lib/dpkg/status', body: status })
    }
    for (let i = 0; i < NODE_PACKAGES_PER_LAYER; i++) {
      const [name, version] = i < famous.length ? famous[i]! : [`bench-pkg-${layer}-${i}`, `${i % 10}.${i % 13}.${i % 17}`]
      items.push({ path: `app${layer}/node_modules/${name}/package.json`, body: JSON.stringify({ name, version, description: 'x'.repeat(200) }) })
      items.push({ path: `app${layer}/node_modules/${name}/index.js`, body: `module.exports = ${i}\n`.repeat(20) })
    }
    if (layer === 3) items.push({ path: 'opt/app/lib/log4j-core-2.14.1.jar', body: jarOf([['org.apache.logging.log4j', 'log4j-core', '2.14.1']]) })
    if (layer === 5) items.push({ path: 'app0/node_modules/.wh.minimist', body: '' })
    // Incompressible filler, in 1 MiB files (gzip keeps it at its size: the stored bytes stay ~200 MiB).
    for (let i = 0; i < FILLER_PER_LAYER / MiB; i++) items.push({ path: `usr/share/filler${layer}/blob-${i}.bin`, body: randomBytes(MiB) })
    const tar = tarOfItems(items)
    unpacked += tar.length
    layers.push(blobOf(OCI_LAYER_GZIP, gzipSync(tar, { level: 1 })))
  }
  const config = blobOf(OCI_CONFIG, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })))
  const manifest = blobOf(OCI_MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: layers.map((l) => l.descriptor) })))
  return { manifest, config, layers, unpacked }
}

/** 1,000 scanned blobs of 100 components each, written as the scanner writes them (a tenth name fixture packages). */
async function storeComponents(trove: Trove): Promise<void> {
  const db = trove.services.metadata.db
  const known: [string, string, string][] = [
    ['npm', 'lodash', '4.17.15'],
    ['npm', 'minimist', '1.2.0'],
    ['npm', 'qs', '6.5.2'],
    ['npm', 'express', '4.17.1'],
    ['PyPI', 'requests', '2.25.1'],
    ['PyPI', 'urllib3', '1.26.16'],
    ['Maven', 'org.apache.logging.log4j:log4j-core', '2.14.1'],
    ['Maven', 'com.fasterxml.jackson.core:jackson-databind', '2.13.2'],
    ['Debian:7', 'nginx', '1.2.1-2.2+wheezy2'],
    ['Alpine:v3.16', 'mariadb', '10.6.7-r1'],
  ]
  const now = Date.now()
  for (let b = 0; b < STORED_BLOBS; b++) {
    const sha256 = `${'b'.repeat(56)}${b.toString(16).padStart(8, '0')}`
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('scan_results').values({ repo_key: 'bench-docker', sha256, format: 'bench', skipped: null, status: 'done', reason: null, component_count: COMPONENTS_PER_BLOB, scanned_at: now, matched_at: now }).execute()
      const rows = Array.from({ length: COMPONENTS_PER_BLOB }, (_, seq) => {
        const [ecosystem, name, version] = seq < known.length ? known[(seq + b) % known.length]! : ['npm', `bench-${b % 97}-${seq}`, `1.0.${seq}`]
        return { repo_key: 'bench-docker', sha256, seq, ecosystem, name: ecosystem === 'PyPI' ? name.toLowerCase() : name, display_name: name, version, relation: 'installed', location: `bench ${seq}` }
      })
      for (let i = 0; i < rows.length; i += 500) await trx.insertInto('scan_components').values(rows.slice(i, i + 500)).execute()
    })
  }
}
