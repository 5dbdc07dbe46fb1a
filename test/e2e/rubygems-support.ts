import { createGzip } from 'node:zlib'
import { pack } from 'tar-stream'

type Entry = { readonly name: string; readonly body: Buffer }

async function tarOf(entries: readonly Entry[], gzip = false): Promise<Buffer> {
  const archive = pack()
  for (const entry of entries) archive.entry({ name: entry.name }, entry.body)
  archive.finalize()
  const source = gzip ? archive.pipe(createGzip()) : archive
  const chunks: Buffer[] = []
  for await (const chunk of source) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function gz(text: string): Promise<Buffer> {
  const { gzipSync } = await import('node:zlib')
  return gzipSync(Buffer.from(text))
}

const spec = (name: string) =>
  [
    '--- !ruby/object:Gem::Specification',
    `name: ${name}`,
    'version: !ruby/object:Gem::Version',
    '  version: 0.1.0',
    'platform: ruby',
    'authors: [x]',
    'dependencies: []',
    'summary: hostile',
    'files: []',
    '',
  ].join('\n')

/** Gems that must be refused: a `..` entry in the outer tar or in data.tar.gz, an extra outer entry, an invalid name. */
export async function hostileGem(kind: 'outer-dotdot' | 'inner-dotdot' | 'extra-entry' | 'bad-name'): Promise<Buffer> {
  const data = await tarOf(kind === 'inner-dotdot' ? [{ name: '../../evil.rb', body: Buffer.from('x') }] : [{ name: 'lib/x.rb', body: Buffer.from('x') }], true)
  const entries: Entry[] = [
    { name: 'metadata.gz', body: await gz(spec(kind === 'bad-name' ? '../evil' : 'hostile')) },
    { name: 'data.tar.gz', body: data },
  ]
  if (kind === 'outer-dotdot') entries.push({ name: '../metadata.gz', body: Buffer.from('x') })
  if (kind === 'extra-entry') entries.push({ name: 'evil.rb', body: Buffer.from('x') })
  return tarOf(entries)
}
