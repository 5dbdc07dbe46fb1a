import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { scratchExtraction } from '../../../test/helpers/extraction-context.js'
import { composerPackage } from '../../../test/helpers/composer.js'
import { zipOf } from '../../../test/helpers/scan-archives.js'
import { DEFAULT_EXTRACTION_LIMITS, ScanFailure } from '../../core/scanning/components.js'
import { COMPOSER_ARCHIVE_EXTRACTOR, COMPOSER_INSTALLED_READER, extractComposerArchive, PACKAGIST_ECOSYSTEM } from './scanning.js'

const scratch = scratchExtraction()
const bytes = (b: Buffer) => Readable.from([b])

const lock = JSON.stringify({
  packages: [{ name: 'Monolog/Monolog', version: '2.9.1' }, { name: 'psr/log', version: 'v1.1.4' }],
  'packages-dev': [{ name: 'phpunit/phpunit', version: '9.6.0' }],
})

describe('Composer extraction', () => {
  it('reads composer.json (the package, its required packages, not php or extensions) and the composer.lock beside it', async () => {
    const zip = composerPackage({
      name: 'acme/app',
      version: '1.2.0',
      require: { 'monolog/monolog': '^2.0', 'ext-json': '*' },
      topFolder: 'acme-app-0123abc',
      extra: [{ name: 'acme-app-0123abc/composer.lock', data: lock }],
    })
    const components = await extractComposerArchive(bytes(zip), DEFAULT_EXTRACTION_LIMITS, scratch.context)
    const json = 'acme-app-0123abc/composer.json'
    const locked = 'acme-app-0123abc/composer.lock'
    expect(components).toEqual([
      { ecosystem: 'Packagist', name: 'acme/app', version: '1.2.0', relation: 'self', location: json },
      { ecosystem: 'Packagist', name: 'monolog/monolog', version: '^2.0', relation: 'dependency', location: `${json} require` },
      { ecosystem: 'Packagist', name: 'monolog/monolog', version: '2.9.1', relation: 'locked', location: `${locked} packages` },
      { ecosystem: 'Packagist', name: 'psr/log', version: 'v1.1.4', relation: 'locked', location: `${locked} packages` },
      { ecosystem: 'Packagist', name: 'phpunit/phpunit', version: '9.6.0', relation: 'locked', location: `${locked} packages-dev` },
    ])
  })

  it('fails hostile or broken archives with the reason', async () => {
    const run = (zip: Buffer, limits = DEFAULT_EXTRACTION_LIMITS) => extractComposerArchive(bytes(zip), limits, scratch.context)
    await expect(run(composerPackage({ name: 'a/b', version: '1.0.0', extra: [{ name: '../escape.php', data: 'x' }] }))).rejects.toThrow(/leaves the archive/)
    await expect(run(zipOf([{ name: 'README.md', data: 'no manifest' }]))).rejects.toThrow(/no composer\.json/)
    await expect(run(zipOf([{ name: 'composer.json', data: '{not json' }]))).rejects.toThrow(ScanFailure)
    await expect(run(Buffer.from('not a zip'))).rejects.toThrow(/not a readable zip/)
    const bomb = composerPackage({ name: 'a/b', version: '1.0.0', extra: [{ name: 'zeros.bin', data: Buffer.alloc(8 * 1024 * 1024), deflate: true }] })
    await expect(run(bomb)).rejects.toThrow(/expands more than/)
    await expect(run(composerPackage({ name: 'a/b', version: '1.0.0' }), { ...DEFAULT_EXTRACTION_LIMITS, maxEntries: 1 })).rejects.toThrow(/more than 1 entries/)
  })

  it('accepts zips of Composer repositories only, and names packages as OSV and purl do', () => {
    const repository = (packageType: string) => ({ packageType }) as Parameters<typeof COMPOSER_ARCHIVE_EXTRACTOR.accepts>[0]
    expect(COMPOSER_ARCHIVE_EXTRACTOR.accepts(repository('composer'), 'acme/x/1.0.0/x-1.0.0.zip')).toBe(true)
    expect(COMPOSER_ARCHIVE_EXTRACTOR.accepts(repository('generic'), 'acme/x/1.0.0/x-1.0.0.zip')).toBe(false)
    expect(PACKAGIST_ECOSYSTEM.purl!('Monolog/Monolog', '2.9.1', undefined)).toBe('pkg:composer/monolog/monolog@2.9.1')
    expect(PACKAGIST_ECOSYSTEM.isVersion!('^2.0')).toBe(false)
    expect(PACKAGIST_ECOSYSTEM.isVersion!('v1.1.4')).toBe(true)
    expect(PACKAGIST_ECOSYSTEM.compare('v1.1.4', '1.1.4')).toBe(0)
    expect(PACKAGIST_ECOSYSTEM.compare('1.2.0-RC1', '1.2.0')).toBeLessThan(0)
  })

  it("reads Composer's installed.json in a file system (Composer 2 and 1 shapes), skipping what it cannot read", async () => {
    const read = (text: string, size = text.length) =>
      COMPOSER_INSTALLED_READER.read(bytes(Buffer.from(text)), { path: 'app/vendor/composer/installed.json', where: 'layer 1: app/vendor/composer/installed.json', size }, DEFAULT_EXTRACTION_LIMITS, scratch.context)
    expect(COMPOSER_INSTALLED_READER.accepts('var/www/vendor/composer/installed.json')).toBe(true)
    expect(COMPOSER_INSTALLED_READER.accepts('var/www/composer.json')).toBe(false)
    const installed = { ecosystem: 'Packagist', name: 'psr/log', version: '1.1.4', relation: 'installed', location: 'layer 1: app/vendor/composer/installed.json' }
    expect(await read(JSON.stringify({ packages: [{ name: 'PSR/Log', version: '1.1.4' }, { name: 'broken' }], dev: true }))).toEqual([installed])
    expect(await read(JSON.stringify([{ name: 'psr/log', version: '1.1.4' }]))).toEqual([installed])
    expect(await read('{not json')).toEqual([])
    expect(await read('[]', 64 * 1024 * 1024)).toEqual([])
  })
})
