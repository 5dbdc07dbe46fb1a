/**
 * The S3 suite of `npm run bench -- s3` (issue 14's figures), against one moto server (a real S3
 * protocol server, Python) started here, all on 127.0.0.1. Every Trove runs as a child process.
 *
 * 1. Download of a 256 MiB blob through Trove (S3 store, streamed) against the same object straight
 *    from the S3 server (a presigned GET), 1 stream (2 downloads in a row) and 16 concurrent
 *    streams (target ≥ 0.9×).
 * 2. The same download from Trove with the local read cache warm against Trove on the filesystem
 *    driver (target ≥ 0.9×).
 * 3. Time to first byte with download redirects (GET Trove, follow the 307, first byte from the
 *    store) against a streamed download through Trove and a GET straight from the store (median of
 *    many requests; for information).
 * 4. A 1 GiB upload: Trove's time (with its default part size and parts in flight) against a plain
 *    SDK multipart upload of the same bytes to the same server (@aws-sdk/lib-storage, the same part
 *    size and concurrency; target ≤ 1.2×), and Trove's resident memory growth meanwhile (target
 *    < 64 MiB).
 *
 * Rounds are interleaved, medians reported; timing never fails the run. `BENCH_ROUNDS` sets the
 * rounds (default 3: moto moves every byte through Python, and the machine is shared).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { request, type Agent } from 'undici'
import { TEST_CREDENTIALS, startMoto, type MotoServer } from '../test/helpers/s3.js'
import type { SuiteContext } from './oci.js'
import { ADMIN_AUTH, residentBytes, resetPeakResident, sampleResident, startTroveProcess, troveCommand, type ServerProcess } from './processes.js'
import { median, positiveInteger, range } from './report.js'
import type { SuiteReport } from './results.js'
import { GeneratedBody, MiB, call, createAgent, download, generatedBody, measureDownloads, upload } from './transfers.js'

const ROUNDS = positiveInteger('BENCH_ROUNDS', 3)
const BLOB_SIZE = 256 * MiB
const UPLOAD_SIZE = 1024 * MiB
/** Trove's defaults (blobstore.s3.partSizeBytes, maxConcurrentParts), which the SDK baseline uses too. */
const PART_SIZE = 8 * MiB
const PARTS_IN_FLIGHT = 2
const TTFB_REQUESTS = 30
const SCENARIOS = [
  { label: '1 stream (2 downloads in a row)', streams: 1, times: 2 },
  { label: '16 concurrent streams', streams: 16, times: 1 },
] as const
const TARGET_DOWNLOAD_RATIO = 0.9
const TARGET_UPLOAD_RATIO = 1.2
const TARGET_GROWTH_MIB = 64
const REPO = 'bench-generic'
const PATH = 'bench/blob.bin'

interface Source {
  readonly url: string
  readonly authorization?: string | undefined
}

export async function s3Suite(context: SuiteContext): Promise<void> {
  const trove = await troveCommand()
  console.log(`\n== s3: Trove from ${trove.label} on moto; ${ROUNDS} rounds`)
  const moto = await startMoto()
  try {
    const agent = context.track(createAgent())
    const bucket = await moto.createBucket()
    const s3Env = {
      TROVE_BLOBSTORE_URL: `s3://${bucket}/trove`,
      TROVE_BLOBSTORE_S3_ENDPOINT: moto.endpoint,
      TROVE_BLOBSTORE_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    }
    const s3DataDir = join(context.workDir, 's3-data')
    const start = async (name: string, dataDir: string, env: Record<string, string>) =>
      context.track(await startTroveProcess({ name, args: trove.args, dataDir, env }))

    // The blob, deployed through Trove into the bucket; and the same size on the filesystem driver.
    let s3Trove = await start('trove-s3', s3DataDir, s3Env)
    await call(agent, 'PUT', `${s3Trove.url}/artifactory/api/repositories/${REPO}`, ADMIN_AUTH, { key: REPO, rclass: 'local', packageType: 'generic' })
    process.stdout.write(`\ndeploying a ${BLOB_SIZE / MiB} MiB blob through Trove into the bucket… `)
    const deployed = await upload(agent, `${s3Trove.url}/artifactory/${REPO}/${PATH}`, BLOB_SIZE, ADMIN_AUTH)
    console.log(`${deployed.mibPerSecond.toFixed(0)} MiB/s`)
    const sha256 = deployed.body.checksums.sha256
    const direct: Source = { url: await presignedUrl(moto, bucket, `trove/blobs/sha256/${sha256.slice(0, 2)}/${sha256}`) }
    const fsTrove = await start('trove-fs', join(context.workDir, 'fs-data'), {})
    await call(agent, 'PUT', `${fsTrove.url}/artifactory/api/repositories/${REPO}`, ADMIN_AUTH, { key: REPO, rclass: 'local', packageType: 'generic' })
    await upload(agent, `${fsTrove.url}/artifactory/${REPO}/${PATH}`, BLOB_SIZE, ADMIN_AUTH)
    const troveBlob = (server: ServerProcess): Source => ({ url: `${server.url}/artifactory/${REPO}/${PATH}`, authorization: ADMIN_AUTH })

    // 1. Streamed through Trove against straight from the store.
    const streamed = await compare(agent, { s3: direct, trove: troveBlob(s3Trove) })

    // 2. A Trove with a warm read cache against Trove on the filesystem driver.
    await s3Trove.stop()
    s3Trove = await start('trove-s3-cached', s3DataDir, { ...s3Env, TROVE_BLOBSTORE_CACHE_DIR: join(context.workDir, 'cache'), TROVE_BLOBSTORE_CACHE_MAX_BYTES: String(2 * BLOB_SIZE) })
    await download(agent, troveBlob(s3Trove).url, BLOB_SIZE, ADMIN_AUTH) // warms the cache
    await sleep(2000) // its write-through is committed in the background
    const cached = await compare(agent, { filesystem: troveBlob(fsTrove), 'trove cache': troveBlob(s3Trove) })
    await fsTrove.stop()

    // 3. Time to first byte: streamed through Trove, redirected to the store, straight from the store.
    await s3Trove.stop()
    const streaming = await start('trove-s3', s3DataDir, s3Env)
    const viaTrove = await firstByteTimes(agent, { direct, streamed: troveBlob(streaming) })
    await streaming.stop()
    const redirecting = await start('trove-s3-redirects', s3DataDir, { ...s3Env, TROVE_BLOBSTORE_REDIRECT_DOWNLOADS: 'true' })
    const viaRedirect = await firstByteTimes(agent, { direct, redirected: troveBlob(redirecting) })
    await redirecting.stop()
    const ttfb = { direct: [...viaTrove.direct!, ...viaRedirect.direct!], streamed: viaTrove.streamed!, redirected: viaRedirect.redirected! }

    // 4. A 1 GiB upload: Trove (streamed to the store, copied into place) against a plain SDK multipart upload.
    const uploader = await start('trove-s3', s3DataDir, s3Env)
    const uploads = await compareUploads(agent, moto, bucket, uploader)
    await uploader.stop()

    reportS3(context.report, streamed, cached, ttfb, uploads)
  } finally {
    await moto.stop()
  }
}

/** Download throughput of each source, interleaved rounds, per scenario: MiB/s figures. */
async function compare(agent: Agent, sources: Record<string, Source>): Promise<{ label: string; results: Record<string, number[]> }[]> {
  const names = Object.keys(sources)
  for (const name of names) await download(agent, sources[name]!.url, BLOB_SIZE, sources[name]!.authorization) // warm-up
  const scenarios = SCENARIOS.map(({ label }) => ({ label, results: Object.fromEntries(names.map((n) => [n, [] as number[]])) }))
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse()
    const figures: string[] = []
    for (const [index, { streams, times }] of SCENARIOS.entries()) {
      for (const name of order) {
        const source = sources[name]!
        const rate = await measureDownloads(agent, source.url, BLOB_SIZE, { streams, times, authorization: source.authorization })
        scenarios[index]!.results[name]!.push(rate)
        figures.push(`${name} ×${streams} ${rate.toFixed(0)}`)
      }
    }
    console.log(`round ${round + 1}/${ROUNDS}: ${figures.join(', ')} MiB/s`)
  }
  return scenarios
}

/** Milliseconds until the first body byte, following one redirect as clients do. */
async function firstByteTimes(agent: Agent, sources: Record<string, Source>): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(sources).map((n) => [n, []]))
  for (let i = 0; i < TTFB_REQUESTS; i++) {
    for (const [name, source] of Object.entries(sources)) times[name]!.push(await firstByte(agent, source))
  }
  return times
}

async function firstByte(agent: Agent, source: Source): Promise<number> {
  const started = performance.now()
  let url = source.url
  let headers: Record<string, string> = source.authorization ? { authorization: source.authorization } : {}
  for (let hop = 0; hop < 2; hop++) {
    const response = await request(url, { dispatcher: agent, method: 'GET', headers })
    if (response.statusCode === 307) {
      await response.body.dump()
      url = String(response.headers.location)
      headers = {} // the store's URL carries its own signature
      continue
    }
    if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode}`)
    for await (const _chunk of response.body) break
    const elapsed = performance.now() - started
    await response.body.dump().catch(() => {})
    return elapsed
  }
  throw new Error(`GET ${source.url}: more than one redirect`)
}

interface UploadFigures {
  readonly troveSeconds: number[]
  /** The same, with the sha256 declared (`X-Checksum-Sha256`): written straight to its content address. */
  readonly declaredSeconds: number[]
  readonly sdkSeconds: number[]
  readonly idle: number
  readonly peak: number
}

async function compareUploads(agent: Agent, moto: MotoServer, bucket: string, trove: ServerProcess): Promise<UploadFigures> {
  const figures: UploadFigures = { troveSeconds: [], declaredSeconds: [], sdkSeconds: [], idle: 0, peak: 0 }
  await upload(agent, `${trove.url}/artifactory/${REPO}/bench/warm-up.bin`, MiB, ADMIN_AUTH)
  await sleep(1000)
  const idleSamples: number[] = []
  for (let i = 0; i < 10; i++) {
    idleSamples.push(await residentBytes(trove.pid))
    await sleep(100)
  }
  const idle = median(idleSamples)
  await resetPeakResident(trove.pid)
  let peak = idle
  for (let round = 0; round < ROUNDS; round++) {
    const sampler = sampleResident(trove.pid, 100)
    try {
      const uploaded = await upload(agent, `${trove.url}/artifactory/${REPO}/bench/one-gib-${round}.bin`, UPLOAD_SIZE, ADMIN_AUTH)
      figures.troveSeconds.push(UPLOAD_SIZE / MiB / uploaded.mibPerSecond)
      const declared = new GeneratedBody(UPLOAD_SIZE)
      if (declared.hex === '') throw new Error('no digest') // hashed before the clock starts
      const started = performance.now()
      const response = await request(`${trove.url}/artifactory/${REPO}/bench/declared-${round}.bin`, {
        dispatcher: agent,
        method: 'PUT',
        headers: { authorization: ADMIN_AUTH, 'content-length': String(UPLOAD_SIZE), 'x-checksum-sha256': declared.hex },
        body: declared.stream(),
      })
      const text = await response.body.text()
      if (response.statusCode !== 201) throw new Error(`PUT with a declared sha256: ${response.statusCode} ${text}`)
      figures.declaredSeconds.push((performance.now() - started) / 1000)
    } finally {
      peak = Math.max(peak, (await sampler.stop()).peak)
    }
    const started = performance.now()
    await new Upload({
      client: moto.client,
      params: { Bucket: bucket, Key: `sdk/one-gib-${round}-${randomBytes(4).toString('hex')}.bin`, Body: generatedBody(UPLOAD_SIZE) },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
    }).done()
    figures.sdkSeconds.push((performance.now() - started) / 1000)
    console.log(`upload round ${round + 1}/${ROUNDS}: trove ${figures.troveSeconds.at(-1)!.toFixed(1)} s, declared ${figures.declaredSeconds.at(-1)!.toFixed(1)} s, sdk ${figures.sdkSeconds.at(-1)!.toFixed(1)} s`)
  }
  return { ...figures, idle, peak }
}

function presignedUrl(moto: MotoServer, bucket: string, key: string): Promise<string> {
  return getSignedUrl(moto.client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 3600 })
}

function reportS3(
  report: SuiteReport,
  streamed: { label: string; results: Record<string, number[]> }[],
  cached: { label: string; results: Record<string, number[]> }[],
  ttfb: Record<string, number[]>,
  uploads: UploadFigures,
): void {
  const table = (title: string, scenarios: typeof streamed, baseline: string, subject: string) => {
    report.table(`${title}, median of ${ROUNDS} rounds (MiB/s)`, [
      ['streams', baseline, subject, `${subject}/${baseline}`, 'target', 'result', `${baseline} range`, `${subject} range`],
      ...scenarios.map(({ label, results }) => {
        const ratio = median(results[subject]!) / median(results[baseline]!)
        return [
          label,
          median(results[baseline]!).toFixed(0),
          median(results[subject]!).toFixed(0),
          ratio.toFixed(2),
          `≥ ${TARGET_DOWNLOAD_RATIO}`,
          ratio >= TARGET_DOWNLOAD_RATIO ? 'PASS' : 'MISS',
          range(results[baseline]!),
          range(results[subject]!),
        ]
      }),
    ])
  }
  table(`Download of a ${BLOB_SIZE / MiB} MiB blob: Trove on S3 against the S3 server directly`, streamed, 's3', 'trove')
  table(`Download of a ${BLOB_SIZE / MiB} MiB blob: Trove on S3 with a warm read cache against Trove on the filesystem`, cached, 'filesystem', 'trove cache')

  report.table(`Time to first byte, median of ${TTFB_REQUESTS} requests (ms; for information)`, [
    ['download', 'median', 'range'],
    ...Object.entries(ttfb).map(([name, values]) => [
      name === 'redirected' ? 'Trove, 307 to the store, followed' : name === 'streamed' ? 'Trove, streamed from the store' : 'straight from the store',
      median(values).toFixed(1),
      range(values, 1),
    ]),
  ])

  const growth = uploads.peak - uploads.idle
  const uploadRow = (label: string, seconds: number[]) => {
    const ratio = median(seconds) / median(uploads.sdkSeconds)
    return [
      label,
      median(seconds).toFixed(1),
      median(uploads.sdkSeconds).toFixed(1),
      ratio.toFixed(2),
      `≤ ${TARGET_UPLOAD_RATIO}`,
      ratio <= TARGET_UPLOAD_RATIO ? 'PASS' : 'MISS',
      range(seconds, 1),
      range(uploads.sdkSeconds, 1),
    ]
  }
  report.table(`A ${UPLOAD_SIZE / MiB} MiB upload, median of ${ROUNDS} (s)`, [
    ['deploy', 'trove', 'plain SDK multipart', 'trove/sdk', 'target', 'result', 'trove range', 'sdk range'],
    uploadRow('sha256 declared (X-Checksum-Sha256): written to its key, no copy', uploads.declaredSeconds),
    uploadRow('sha256 not declared: temporary key, then a server-side copy', uploads.troveSeconds),
  ])
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`
  report.table(`Trove's resident memory during the uploads`, [
    ['idle RSS', 'peak RSS', 'growth', 'target', 'result'],
    [mib(uploads.idle), mib(uploads.peak), mib(growth), `< ${TARGET_GROWTH_MIB} MiB`, growth < TARGET_GROWTH_MIB * MiB ? 'PASS' : 'MISS'],
  ])
}
