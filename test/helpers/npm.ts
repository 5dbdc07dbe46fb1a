import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { create as createTar } from 'tar'

/**
 * A package tarball as `npm pack` makes it: the files under `package/`, gzipped. `entries`
 * lists what goes in, in order (a path twice puts it in twice); by default every file once.
 */
export async function packTarball(
  files: Readonly<Record<string, string | Buffer>>,
  options: { gzip?: boolean; entries?: readonly string[] } = {},
): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'trove-npm-pack-'))
  try {
    for (const [path, content] of Object.entries(files)) {
      const file = join(dir, 'package', path)
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, content)
    }
    const stream = createTar({ gzip: options.gzip ?? true, cwd: dir, portable: true }, [...(options.entries ?? ['package'])])
    const chunks: Buffer[] = []
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk))
    return Buffer.concat(chunks)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export interface PublishBodyOptions {
  readonly tarball: Buffer
  /** The version manifest sent (defaults to the tarball's package.json as given in `packageJson`). */
  readonly manifest: Record<string, unknown>
  readonly distTags?: Record<string, string>
  readonly attachmentName?: string
  /** Overrides of `dist` (to send a wrong shasum or integrity). */
  readonly dist?: Record<string, unknown>
}

/** The body `npm publish` sends: the packument with one version and the tarball in base64. */
export function publishBody(options: PublishBodyOptions): Record<string, unknown> {
  const { tarball, manifest } = options
  const name = String(manifest.name)
  const version = String(manifest.version)
  return {
    _id: name,
    name,
    description: manifest.description,
    'dist-tags': options.distTags ?? { latest: version },
    versions: {
      [version]: {
        ...manifest,
        _id: `${name}@${version}`,
        _nodeVersion: process.versions.node,
        _npmVersion: '11.0.0',
        dist: {
          shasum: createHash('sha1').update(tarball).digest('hex'),
          integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
          tarball: `http://example.invalid/${name}/-/${name}-${version}.tgz`,
          ...options.dist,
        },
      },
    },
    access: null,
    _attachments: {
      [options.attachmentName ?? `${name}-${version}.tgz`]: {
        content_type: 'application/octet-stream',
        data: tarball.toString('base64'),
        length: tarball.length,
      },
    },
  }
}

/** A package's tarball and publish body in one go, from its package.json and files. */
export async function npmPackage(
  packageJson: Record<string, unknown>,
  files: Readonly<Record<string, string>> = { 'index.js': 'module.exports = 1\n' },
): Promise<{ tarball: Buffer; body: Record<string, unknown> }> {
  const tarball = await packTarball({ 'package.json': JSON.stringify(packageJson, null, 2), ...files })
  return { tarball, body: publishBody({ tarball, manifest: packageJson }) }
}
