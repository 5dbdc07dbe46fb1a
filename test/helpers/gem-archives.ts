import { gzipSync } from 'node:zlib'
import { tarOfItems } from './scan-archives.js'

export type Entry = { readonly name: string; readonly body: Buffer }

/** A tar (gzipped when asked) of `entries`, in order. */
export async function tarOf(entries: readonly Entry[], gzip = false): Promise<Buffer> {
  const tar = tarOfItems(entries.map((e) => ({ path: e.name, body: e.body })))
  return gzip ? gzipSync(tar) : tar
}

export async function gz(text: string): Promise<Buffer> {
  return gzipSync(Buffer.from(text))
}

/** A gemspec YAML as gem writes it, reduced. */
export const spec = (name: string, version = '0.1.0', dependencies = 'dependencies: []') =>
  [
    '--- !ruby/object:Gem::Specification',
    `name: ${name}`,
    'version: !ruby/object:Gem::Version',
    `  version: ${version}`,
    'platform: ruby',
    'authors: [x]',
    dependencies,
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

/** A well-formed gem of `name`-`version` whose data.tar.gz holds `files`. */
export async function gemOf(name: string, version: string, files: readonly Entry[], dependencies?: string): Promise<Buffer> {
  return tarOf([
    { name: 'metadata.gz', body: await gz(spec(name, version, dependencies)) },
    { name: 'data.tar.gz', body: await tarOf(files, true) },
    { name: 'checksums.yaml.gz', body: await gz('---\n') },
  ])
}
