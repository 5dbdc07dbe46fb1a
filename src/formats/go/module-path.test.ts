import { describe, expect, it } from 'vitest'
import { parseGoMod } from './go-mod.js'
import { escapePath, filePath, modulePathProblem, parseProxyPath, unescapePath, versionMatchesPath } from './module-path.js'
import { filePathProblem } from './module-zip.js'

describe('module paths on the wire', () => {
  it('case-encodes upper-case letters both ways, and refuses what is not encoded', () => {
    expect(escapePath('github.com/Azure/azure-SDK')).toBe('github.com/!azure/azure-!s!d!k')
    expect(unescapePath('github.com/!azure/azure-!s!d!k')).toBe('github.com/Azure/azure-SDK')
    expect(unescapePath('github.com/Azure/x')).toBeUndefined()
    expect(unescapePath('github.com/!1/x')).toBeUndefined()
    expect(unescapePath('github.com/x!')).toBeUndefined()
  })

  it('checks module paths as the go command does', () => {
    expect(modulePathProblem('example.com/acme/lib/v2')).toBeUndefined()
    expect(modulePathProblem('acme/lib')).toMatch(/no dot/)
    expect(modulePathProblem('example.com//lib')).toMatch(/empty element/)
    expect(modulePathProblem('example.com/../lib')).toMatch(/dot/)
    expect(modulePathProblem('Example.com/lib')).toMatch(/lower-case/)
    expect(modulePathProblem('example.com/li b')).toMatch(/characters/)
  })

  it('matches versions to major version suffixes', () => {
    expect(versionMatchesPath('example.com/lib', 'v1.2.3')).toBe(true)
    expect(versionMatchesPath('example.com/lib', 'v2.0.0')).toBe(false)
    expect(versionMatchesPath('example.com/lib', 'v2.0.0+incompatible')).toBe(true)
    expect(versionMatchesPath('example.com/lib/v2', 'v2.0.0')).toBe(true)
    expect(versionMatchesPath('example.com/lib/v2', 'v1.0.0')).toBe(false)
  })

  it('reads the GOPROXY requests, and nothing else', () => {
    expect(parseProxyPath('example.com/!acme/lib/@v/list')).toEqual({ kind: 'list', module: 'example.com/Acme/lib', escaped: 'example.com/!acme/lib' })
    expect(parseProxyPath('example.com/lib/@latest')).toMatchObject({ kind: 'latest', module: 'example.com/lib' })
    expect(parseProxyPath('example.com/lib/@v/v1.0.0-!r!c1.zip')).toMatchObject({ kind: 'file', version: 'v1.0.0-RC1', ext: 'zip' })
    // A module path as written (upper case) is read too, and stored encoded.
    expect(parseProxyPath('example.com/Acme/lib/@v/v1.0.0.mod')).toMatchObject({ module: 'example.com/Acme/lib', escaped: 'example.com/!acme/lib' })
    expect(filePath('example.com/!acme/lib', 'v1.0.0-RC1', 'zip')).toBe('example.com/!acme/lib/@v/v1.0.0-!r!c1.zip')
    for (const bad of ['example.com/lib/@v/1.0.0.zip', 'example.com/lib/@v/v1.0.0.tar', 'example.com/lib', 'lib/@v/list', 'example.com/lib/@v/latest.info']) {
      expect(() => parseProxyPath(bad), bad).toThrow()
    }
  })

  it('refuses file paths that leave the module', () => {
    expect(filePathProblem('cmd/main.go')).toBeUndefined()
    for (const bad of ['../x.go', 'a/../../x', '/etc/passwd', 'a\\b', 'a//b', 'C:', './x']) expect(filePathProblem(bad), bad).toBeDefined()
  })
})

describe('go.mod', () => {
  it('reads the module directive and the require lines, in blocks and alone, quoted or not', () => {
    const mod = parseGoMod(
      [
        '// a comment',
        'module "example.com/app" // the app',
        '',
        'go 1.19',
        'require example.com/one v1.0.0',
        'require (',
        '\texample.com/two v0.2.0 // indirect',
        '\t"example.com/three" v3.0.0+incompatible',
        ')',
        'replace example.com/one => ../one',
      ].join('\n'),
    )
    expect(mod.module).toBe('example.com/app')
    expect(mod.requires).toEqual([
      { path: 'example.com/one', version: 'v1.0.0', isIndirect: false },
      { path: 'example.com/two', version: 'v0.2.0', isIndirect: true },
      { path: 'example.com/three', version: 'v3.0.0+incompatible', isIndirect: false },
    ])
  })
})
