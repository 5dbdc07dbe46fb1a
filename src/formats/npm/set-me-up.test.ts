import { describe, expect, it } from 'vitest'
import { npmSetMeUp } from './set-me-up.js'

const base = { key: 'npm-local', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' }

describe('npm Set Me Up', () => {
  it('keys the credential by the registry URL without its scheme (the nerf dart), in both .npmrc forms', () => {
    const snippets = Object.fromEntries(npmSetMeUp({ ...base, token: 'trv_n' }).map((s) => [s.id, s]))
    for (const id of ['npmrc', 'npmrc-scoped']) {
      const [registryLine, authLine] = snippets[id]!.text.split('\n')
      const registry = registryLine!.split('=')[1]!
      expect(authLine).toBe(`${registry.replace(/^http:/, '')}:_authToken=trv_n`)
    }
  })

  it('a remote repository: no publish', () => {
    expect(npmSetMeUp({ ...base, rclass: 'remote' }).map((s) => s.id)).toEqual(['npmrc', 'npmrc-scoped', 'npm-install', 'npm-login'])
  })
})
