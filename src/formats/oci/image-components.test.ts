import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sha256 } from '../../../test/helpers/oci-images.js'
import { dpkgParagraph, jarOf, rpmHeader, rpmSqliteOf, tarOfFiles, tarOfItems, type TarItem } from '../../../test/helpers/scan-archives.js'
import { DEFAULT_EXTRACTION_LIMITS, ScanFailure, type ExtractionLimits } from '../../core/scanning/components.js'
import type { ExtractionContext } from '../../core/scanning/extractor.js'
import { ScanningRegistry } from '../../core/scanning/scanning-registry.js'
import { FORMATS } from '../index.js'
import { extractOciManifest } from './image-components.js'

/** Every format's readers of installed packages (npm's, PyPI's, Maven's), as the scanner passes them. */
const INSTALLED = new ScanningRegistry(FORMATS).installed

const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'

/** An in-memory repository holding an image's layers and child manifests; what a scan skipped. */
class Blobs {
  readonly map = new Map<string, Buffer>()
  readonly skipped: { location: string; reason: string }[] = []
  add(bytes: Buffer): string {
    const hex = sha256(bytes)
    this.map.set(hex, bytes)
    return `sha256:${hex}`
  }
  readonly context = (scratchDir: string): ExtractionContext => ({
    scratchDir,
    linked: {
      holds: async (hex: string) => this.map.has(hex),
      open: async (hex: string, what: string) => {
        const bytes = this.map.get(hex)
        if (!bytes) throw new ScanFailure(`${what} is not in 'test'`)
        return Readable.from([bytes])
      },
    },
    installed: INSTALLED,
    skip: (location, reason) => this.skipped.push({ location, reason }),
  })
}

describe('OCI image extraction', () => {
  let scratch: string
  let blobs: Blobs
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'trove-oci-scan-'))
    blobs = new Blobs()
  })
  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true })
  })

  const manifestOf = (layers: readonly Buffer[], mediaType = LAYER) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs.add(Buffer.from('{}')), size: 2 },
        layers: layers.map((l) => ({ mediaType, digest: blobs.add(l), size: l.length })),
      }),
    )
  const scan = (manifest: Buffer, limits: ExtractionLimits = DEFAULT_EXTRACTION_LIMITS) => extractOciManifest(Readable.from([manifest]), limits, blobs.context(scratch))
  const gz = (files: Record<string, string | Buffer>) => gzipSync(tarOfFiles(files))
  const digestOf = (bytes: Buffer) => `sha256:${sha256(bytes)}`

  const STATUS = [
    dpkgParagraph('nginx-full', '1.2.1-2.2+wheezy2', 'nginx'),
    dpkgParagraph('nginx-common', '1.2.1-2.2+wheezy2', 'nginx'),
    dpkgParagraph('libc6', '2.13-38+deb7u1', 'eglibc'),
    dpkgParagraph('curl', '7.26.0-1+wheezy9'),
    dpkgParagraph('removed-one', '1.0-1', undefined, 'deinstall ok config-files'),
  ].join('\n')

  it('reads dpkg status with binary and source packages, scoped to the Debian release, naming the layer', async () => {
    const base = gz({ 'etc/os-release': 'ID=debian\nVERSION_ID="7"\n', 'var/lib/dpkg/status': STATUS })
    const components = await scan(manifestOf([base]))
    const where = `layer 0 (${digestOf(base)}): var/lib/dpkg/status`
    expect(components).toEqual(
      expect.arrayContaining([
        { ecosystem: 'Debian:7', name: 'nginx-full', version: '1.2.1-2.2+wheezy2', relation: 'installed', location: where },
        { ecosystem: 'Debian:7', name: 'nginx', version: '1.2.1-2.2+wheezy2', relation: 'installed', location: `${where} (source of nginx-full, nginx-common)` },
        { ecosystem: 'Debian:7', name: 'eglibc', version: '2.13-38+deb7u1', relation: 'installed', location: `${where} (source of libc6)` },
        { ecosystem: 'Debian:7', name: 'curl', version: '7.26.0-1+wheezy9', relation: 'installed', location: where },
      ]),
    )
    expect(components.map((c) => c.name)).not.toContain('removed-one') // config-files only: not installed
    expect(components).toHaveLength(6)
  })

  it('applies whiteouts and opaque folders of later layers, and names the layer of what survives', async () => {
    const one = gz({
      'etc/debian_version': '12.5\n',
      'var/lib/dpkg/status': dpkgParagraph('curl', '7.88.1-10'),
      'usr/lib/node_modules/minimist/package.json': '{"name":"minimist","version":"1.2.0"}',
      'usr/lib/node_modules/qs/package.json': '{"name":"qs","version":"6.5.2"}',
      'app/node_modules/semver/package.json': '{"name":"semver","version":"5.7.1"}',
      'usr/lib/python3/dist-packages/requests-2.25.1.dist-info/METADATA': 'Name: requests\nVersion: 2.25.1\n',
    })
    const two = gz({
      'usr/lib/node_modules/.wh.minimist': '',
      'app/node_modules/.wh..wh..opq': '',
      'app/node_modules/axios/package.json': '{"name":"axios","version":"1.6.0"}',
      'var/lib/dpkg/status': dpkgParagraph('curl', '7.88.1-10+deb12u5'),
    })
    const three = gz({ 'usr/lib/python3/.wh.dist-packages': '' })
    const components = await scan(manifestOf([one, two, three]))
    expect(components.map((c) => `${c.ecosystem} ${c.name}@${c.version} ${c.location}`).sort()).toEqual(
      [
        `Debian:12 curl@7.88.1-10+deb12u5 layer 1 (${digestOf(two)}): var/lib/dpkg/status`,
        `npm axios@1.6.0 layer 1 (${digestOf(two)}): app/node_modules/axios/package.json`,
        `npm qs@6.5.2 layer 0 (${digestOf(one)}): usr/lib/node_modules/qs/package.json`,
      ].sort(),
    )
  })

  it('reads Alpine, RPM (rpmdb.sqlite), site-packages and jars', async () => {
    const alpine = gz({
      'etc/alpine-release': '3.16.2\n',
      'lib/apk/db/installed': 'C:Q1abc\nP:mariadb-client\nV:10.6.7-r1\no:mariadb\n\nP:musl\nV:1.2.3-r0\n\n',
      'usr/lib/python3.10/site-packages/PyYAML-5.4b1.dist-info/METADATA': 'Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.4b1\n',
      'opt/app/app.jar': jarOf([['org.apache.logging.log4j', 'log4j-core', '2.14.1']]),
    })
    const components = await scan(manifestOf([alpine]))
    expect(components.map((c) => `${c.ecosystem} ${c.name}@${c.version}`).sort()).toEqual(
      ['Alpine:v3.16 mariadb-client@10.6.7-r1', 'Alpine:v3.16 mariadb@10.6.7-r1', 'Alpine:v3.16 musl@1.2.3-r0', 'Maven org.apache.logging.log4j:log4j-core@2.14.1', 'PyPI pyyaml@5.4b1'].sort(),
    )
    expect(components.find((c) => c.ecosystem === 'Maven')!.location).toBe(
      `layer 0 (${digestOf(alpine)}): opt/app/app.jar!/META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties`,
    )

    const rpmdb = await rpmSqliteOf([
      rpmHeader({ name: 'openssl-libs', version: '3.0.7', release: '27.el9', epoch: 1, sourceRpm: 'openssl-3.0.7-27.el9.src.rpm' }),
      rpmHeader({ name: 'bash', version: '5.1.8', release: '9.el9', sourceRpm: 'bash-5.1.8-9.el9.src.rpm' }),
    ])
    const rocky = gz({ 'etc/os-release': 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.3"\n', 'var/lib/rpm/rpmdb.sqlite': rpmdb })
    const rpm = await scan(manifestOf([rocky]))
    expect(rpm.map((c) => `${c.ecosystem} ${c.name}@${c.version}`).sort()).toEqual(
      ['Rocky Linux:9 bash@5.1.8-9.el9', 'Rocky Linux:9 openssl-libs@1:3.0.7-27.el9', 'Rocky Linux:9 openssl@1:3.0.7-27.el9'].sort(),
    )
    expect(await readdir(scratch)).toEqual([]) // spooled files are removed after use
  })

  it('reads plain tar layers and every image of an index, located by platform', async () => {
    const amd = manifestOf([tarOfFiles({ 'node_modules/qs/package.json': '{"name":"qs","version":"6.7.0"}' })], 'application/vnd.oci.image.layer.v1.tar')
    const arm = manifestOf([gz({ 'node_modules/qs/package.json': '{"name":"qs","version":"6.9.7"}' })], 'application/vnd.docker.image.rootfs.diff.tar.gzip')
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: blobs.add(amd), size: amd.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: blobs.add(arm), size: arm.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      }),
    )
    const components = await scan(index)
    expect(components.map((c) => `${c.version} ${c.location.split(' ')[0]}`).sort()).toEqual(['6.7.0 linux/amd64', '6.9.7 linux/arm64/v8'])
  })

  it('does not read links: a symlinked dpkg status or package.json is not followed', async () => {
    const items: TarItem[] = [
      { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID=12\n' },
      { path: 'var/lib/dpkg/status', type: '2', linkpath: '/etc/shadow' },
      { path: 'usr/bin/X11', type: '2', linkpath: '.' }, // as Debian ships it: a link up, not a loop of links
      { path: 'usr/lib/node_modules/x/package.json', type: '2', linkpath: '../../../../etc/passwd' },
    ]
    expect(await scan(manifestOf([gzipSync(tarOfItems(items))]))).toEqual([])
  })

  it('fails a layer whose symbolic links form a loop, naming it', async () => {
    const loop: TarItem[] = [
      { path: 'loop/a', type: '2', linkpath: 'b' },
      { path: 'loop/b', type: '2', linkpath: '/loop/c' },
      { path: 'loop/c', type: '2', linkpath: '../loop/a' },
    ]
    await expect(scan(manifestOf([gzipSync(tarOfItems(loop))]))).rejects.toThrow('symbolic link loop: loop/a → loop/b → loop/c → loop/a')
    const self: TarItem[] = [{ path: 'self', type: '2', linkpath: 'self' }]
    await expect(scan(manifestOf([gzipSync(tarOfItems(self))]))).rejects.toThrow('symbolic link loop: self → self')
  })

  it('fails hostile layers with a reason: ../ and absolute entries, too many entries, a bomb, not a tar', async () => {
    await expect(scan(manifestOf([gz({ '../../etc/passwd': 'x' })]))).rejects.toThrow(/leaves the archive/)
    await expect(scan(manifestOf([gz({ '/etc/passwd': 'x' })]))).rejects.toThrow(/absolute path/)
    const many = gzipSync(tarOfItems(Array.from({ length: 10_000 }, (_, i) => ({ path: `f/${i}` }))))
    await expect(scan(manifestOf([many]), { ...DEFAULT_EXTRACTION_LIMITS, maxEntries: 5000 })).rejects.toThrow(/more than 5000 entries in layer 0/)
    const bomb = gzipSync(tarOfFiles({ zeros: Buffer.alloc(64 * 1024 * 1024) }))
    await expect(scan(manifestOf([bomb]))).rejects.toThrow(/expands more than 100 times/)
    await expect(scan(manifestOf([Buffer.from('\x1f\x8bnot gzip at all')]))).rejects.toThrow(ScanFailure)
    await expect(scan(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'))).rejects.toThrow(/schema 1/)
    await expect(scan(Buffer.from('nope'))).rejects.toThrow(/not valid JSON/)
  })

  it("asks the repository for each layer, and ends with the repository's answer for one it does not hold", async () => {
    const layer = gz({ a: 'b' })
    const manifest = manifestOf([layer])
    blobs.map.clear()
    const error = await scan(manifest).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(ScanFailure)
    expect((error as Error).message).toBe(`layer 0 (${digestOf(layer)}) is not in 'test'`)
  })

  it('skips a foreign layer (non-distributable, with urls) the repository does not hold, naming it; reads one it holds', async () => {
    const foreign = gz({ 'usr/lib/node_modules/far/package.json': JSON.stringify({ name: 'far', version: '1.0.0' }) })
    const near = gz({ 'usr/lib/node_modules/near/package.json': JSON.stringify({ name: 'near', version: '1.0.0' }) })
    const manifest = (mediaType: string) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs.add(Buffer.from('{}')), size: 2 },
          layers: [
            { mediaType, digest: digestOf(foreign), size: foreign.length, urls: ['http://127.0.0.1:9/far.tar.gz'] },
            { mediaType: LAYER, digest: blobs.add(near), size: near.length },
          ],
        }),
      )
    for (const mediaType of ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip']) {
      blobs.skipped.length = 0
      const components = await scan(manifest(mediaType))
      expect(components.map((c) => c.name)).toEqual(['near'])
      expect(blobs.skipped).toEqual([{ location: `layer 0 (${digestOf(foreign)})`, reason: expect.stringMatching(/foreign layer/) }])
    }
    blobs.add(foreign)
    blobs.skipped.length = 0
    expect((await scan(manifest('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'))).map((c) => c.name)).toEqual(['far', 'near'])
    expect(blobs.skipped).toEqual([])
  })
})
