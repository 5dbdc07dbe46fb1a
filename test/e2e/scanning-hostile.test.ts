/**
 * Hostile archives stored in a real Trove on 127.0.0.1: an image whose layers hold `../` and
 * absolute paths, symbolic link loops, a gzip bomb; a wheel that is a zip bomb, a zip with `../`
 * names, jars nested too deep, an sdist of 10,000 tiny entries (past the entry limit this server
 * is configured with). Each scan ends as failed with its reason, within a bounded time and memory,
 * and the server keeps answering while and after it scans.
 */
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, blobOf } from '../helpers/oci-images.js'
import { RegistryClient, startOciServer, type OciServer } from '../helpers/oci.js'
import { metadataBackends } from '../helpers/postgres.js'
import { coreMetadata, jarOf, tarOfFiles, tarOfItems, wheelOf, zipOf, type TarItem } from '../helpers/scan-archives.js'

const backends = await metadataBackends()

interface Report {
  status: string
  reason: string | null
  components: { name: string }[]
}

describe.each(backends)('hostile archives on %s', (backend) => {
  let server: OciServer
  let client: RegistryClient

  const api = (method: string, path: string, body?: Buffer) =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: server.adminAuth, 'content-type': 'application/octet-stream' }, body })

  async function pushImage(name: string, layers: readonly Buffer[]): Promise<void> {
    const config = blobOf(OCI_CONFIG, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })))
    const blobs = layers.map((l) => blobOf(OCI_LAYER_GZIP, l))
    for (const blob of [config, ...blobs]) await client.pushBlob(name, blob.bytes)
    const manifest = blobOf(OCI_MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: blobs.map((b) => b.descriptor) })))
    const res = await client.putManifest(name, 'v1', manifest)
    expect(res.status, await res.clone().text()).toBe(201)
  }

  async function report(path: string): Promise<Report> {
    const response = await api('GET', `/api/v1/scan/artifact/${path}`)
    expect(response.status, await response.clone().text()).toBe(200)
    return (await response.json()) as Report
  }

  beforeAll(async () => {
    // An admin's tighter entry limit (scanning.maxEntries, default 100,000), so that 10,000 tiny entries are refused.
    server = await startOciServer(backend, { scanning: { maxEntries: 5000 } })
    client = new RegistryClient(server, server.adminAuth)
    await client.createRepository('docker-local')
    const generic = await fetch(`${server.url}/artifactory/api/repositories/generic-local`, {
      method: 'PUT',
      headers: { authorization: server.adminAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ rclass: 'local', packageType: 'generic' }),
    })
    expect(generic.status).toBe(200)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('ends every hostile scan with a reason, in bounded time and memory, while serving', async () => {
    const loops: TarItem[] = [
      { path: 'loop/a', type: '2', linkpath: 'b' },
      { path: 'loop/b', type: '2', linkpath: 'a' },
      { path: 'var/lib/dpkg/status', type: '2', linkpath: '../../../loop/a' },
      { path: 'usr/lib/node_modules/x/package.json', type: '1', linkpath: 'loop/a' },
    ]
    await pushImage('docker-local/hostile/dotdot', [gzipSync(tarOfFiles({ 'etc/os-release': 'ID=debian\n', '../../../etc/cron.d/evil': 'x' }))])
    await pushImage('docker-local/hostile/absolute', [gzipSync(tarOfFiles({ '/etc/passwd': 'root::0:0::/:/bin/sh' }))])
    await pushImage('docker-local/hostile/links', [gzipSync(tarOfItems(loops))])
    await pushImage('docker-local/hostile/bomb', [gzipSync(tarOfFiles({ zeros: Buffer.alloc(256 * 1024 * 1024) }))])

    let nested = jarOf([['g', 'a', '1']])
    for (let i = 0; i < 8; i++) nested = jarOf([], { [`BOOT-INF/lib/level${i}.jar`]: nested })
    const files: Record<string, Buffer> = {
      'zip-bomb-1.0-py3-none-any.whl': wheelOf('zip-bomb', '1.0', [], [{ name: 'zip_bomb/zeros', data: Buffer.alloc(256 * 1024 * 1024), deflate: true }]),
      'escape-1.0-py3-none-any.whl': zipOf([{ name: '../../../tmp/evil.py', data: 'x' }, { name: 'escape-1.0.dist-info/METADATA', data: coreMetadata('escape', '1.0') }]),
      'nested-1.0.jar': nested,
      'tiny-1.0.tar.gz': gzipSync(tarOfItems([{ path: 'tiny-1.0/PKG-INFO', body: coreMetadata('tiny', '1.0') }, ...Array.from({ length: 10_000 }, (_, i) => ({ path: `tiny-1.0/f/${i}` }))])),
    }
    for (const [name, bytes] of Object.entries(files)) expect((await api('PUT', `/artifactory/generic-local/hostile/${name}`, bytes)).status).toBe(201)

    // Scan everything while another client keeps asking the server something.
    const heapBefore = process.memoryUsage().heapUsed
    const started = Date.now()
    let pings = 0
    let scanning = true
    const pinger = (async () => {
      while (scanning) {
        const ping = await fetch(`${server.url}/artifactory/api/system/ping`)
        expect(ping.status).toBe(200)
        pings++
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    for (let i = 0; i < 5; i++) await server.trove.services.jobs.runDue()
    scanning = false
    await pinger
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThan(60_000)
    expect(pings).toBeGreaterThan(0)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024) // nothing held whole

    const expectations: [string, string, RegExp | null][] = [
      ['docker-local/hostile/dotdot/v1', 'failed', /leaves the archive/],
      ['docker-local/hostile/absolute/v1', 'failed', /absolute path/],
      ['docker-local/hostile/bomb/v1', 'failed', /expands more than 100 times/],
      ['generic-local/hostile/zip-bomb-1.0-py3-none-any.whl', 'failed', /bomb/],
      ['generic-local/hostile/escape-1.0-py3-none-any.whl', 'failed', /leaves the archive/],
      ['generic-local/hostile/nested-1.0.jar', 'failed', /nested more than 4 deep/],
      ['docker-local/hostile/links/v1', 'failed', /symbolic link loop: loop\/a → loop\/b → loop\/a/],
      ['generic-local/hostile/tiny-1.0.tar.gz', 'failed', /more than 5000 entries/],
    ]
    for (const [path, status, reason] of expectations) {
      const r = await report(path)
      expect(r.status, `${path}: ${r.reason}`).toBe(status)
      if (reason) expect(r.reason, path).toMatch(reason)
    }
  })
})
