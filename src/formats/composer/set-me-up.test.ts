import { describe, expect, it } from 'vitest'
import { composerSetMeUp } from './set-me-up.js'

const base = { key: 'php', rclass: 'local', baseUrl: 'http://localhost:8081/', user: 'alice' }

describe('Composer Set Me Up', () => {
  it('a project whose only repository is Trove, with secure-http off only over plain http, and auth.json keyed by host and port', () => {
    const snippets = Object.fromEntries(composerSetMeUp(base).map((s) => [s.id, s]))
    expect(JSON.parse(snippets['composer-json']!.text)).toEqual({
      repositories: [{ type: 'composer', url: 'http://localhost:8081/artifactory/api/composer/php' }, { packagist: false }],
      config: { 'secure-http': false },
    })
    expect(JSON.parse(snippets['composer-auth']!.text)).toEqual({ 'http-basic': { 'localhost:8081': { username: 'alice', password: '<TOKEN>' } } })
    const https = Object.fromEntries(composerSetMeUp({ ...base, baseUrl: 'https://trove.example.test' }).map((s) => [s.id, s]))
    expect(JSON.parse(https['composer-json']!.text)).not.toHaveProperty('config')
    expect(Object.keys(JSON.parse(https['composer-auth']!.text)['http-basic'])).toEqual(['trove.example.test'])
  })

  it('a remote repository has no upload; a virtual one uploads to its deployment repository', () => {
    expect(composerSetMeUp({ ...base, rclass: 'remote' }).map((s) => s.id)).toEqual(['composer-json', 'composer-auth', 'composer-require'])
    expect(composerSetMeUp({ ...base, rclass: 'virtual' }).find((s) => s.id === 'composer-upload')?.description).toMatch(/deployment repository/)
  })
})
