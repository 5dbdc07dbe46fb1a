/**
 * Builds container images as OCI image layouts on disk (image-spec `image-layout.md`), so that
 * real clients copy them in and out of Trove without any network: real gzipped tar layers, a
 * config with their diff ids, image manifests, and multi-platform indexes.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { architecture: string; os: string }
  annotations?: Record<string, string>
  artifactType?: string
}

export interface Blob {
  readonly bytes: Buffer
  readonly descriptor: Descriptor
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export function blobOf(mediaType: string, bytes: Buffer): Blob {
  return { bytes, descriptor: { mediaType, digest: `sha256:${sha256(bytes)}`, size: bytes.length } }
}

/** A POSIX tar archive (ustar) of the given files, as a container layer holds them. */
export function tarOf(files: Readonly<Record<string, Buffer | string>>): Buffer {
  const blocks: Buffer[] = []
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content)
    const header = Buffer.alloc(512)
    header.write(name, 0, 100, 'utf8')
    header.write('0000644\0', 100)
    header.write('0000000\0', 108)
    header.write('0000000\0', 116)
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124)
    header.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136)
    header.write('        ', 148)
    header.write('0', 156)
    header.write('ustar\0', 257)
    header.write('00', 263)
    let sum = 0
    for (const byte of header) sum += byte
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

export interface BuiltImage {
  readonly manifest: Blob
  readonly config: Blob
  readonly layers: readonly Blob[]
  readonly platform: { architecture: string; os: string }
}

/** An image with `layerCount` layers, each one file whose content makes the image unique per `seed`. */
export function buildImage(seed: string, layerCount: number, platform = { architecture: 'amd64', os: 'linux' }, layerBytes = 1024): BuiltImage {
  const layers: Blob[] = []
  const diffIds: string[] = []
  for (let i = 0; i < layerCount; i++) {
    const content = Buffer.alloc(layerBytes, `${seed}-${platform.architecture}-${i}-`)
    const tar = tarOf({ [`layer-${i}.txt`]: content })
    diffIds.push(`sha256:${sha256(tar)}`)
    layers.push(blobOf(OCI_LAYER_GZIP, gzipSync(tar)))
  }
  const config = blobOf(
    OCI_CONFIG,
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        config: { Env: [`SEED=${seed}`] },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: layers.map((_, i) => ({ created_by: `layer ${i}` })),
      }),
    ),
  )
  const manifest = blobOf(
    OCI_MANIFEST,
    Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: layers.map((l) => l.descriptor) }),
    ),
  )
  return { manifest, config, layers, platform }
}

export function buildIndex(images: readonly BuiltImage[]): Blob {
  return blobOf(
    OCI_INDEX,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: images.map((i) => ({ ...i.manifest.descriptor, platform: i.platform })),
      }),
    ),
  )
}

/** Writes an OCI image layout at `dir` holding `blobs`, with `tag` naming `root`. */
export async function writeLayout(dir: string, tag: string, root: Blob, blobs: readonly Blob[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true })
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  for (const blob of [root, ...blobs]) await writeFile(join(dir, 'blobs', 'sha256', blob.descriptor.digest.slice(7)), blob.bytes)
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ ...root.descriptor, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify(index))
}

export function blobsOfImage(image: BuiltImage): Blob[] {
  return [image.manifest, image.config, ...image.layers]
}

/** Every blob of a layout on disk, by hex digest, read back byte for byte. */
export async function readLayoutBlobs(dir: string): Promise<Map<string, Buffer>> {
  const folder = join(dir, 'blobs', 'sha256')
  const blobs = new Map<string, Buffer>()
  for (const name of await readdir(folder)) blobs.set(name, await readFile(join(folder, name)))
  return blobs
}

/** The manifest the layout's `index.json` names for `tag`. */
export async function layoutRoot(dir: string, tag?: string): Promise<Descriptor> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] }
  const root = tag === undefined ? index.manifests[0] : index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)
  if (!root) throw new Error(`no manifest tagged ${tag} in ${dir}`)
  return root
}
