import { describe, expect, it } from 'vitest'
import { TOKEN_PLACEHOLDER } from '../../api/formats.js'
import { pypiSetMeUp } from './set-me-up.js'

const base = { key: 'py', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' }
const byId = (context: typeof base & { token?: string }) => Object.fromEntries(pypiSetMeUp(context).map((s) => [s.id, s]))
const texts = (context: typeof base) => pypiSetMeUp(context).map((s) => s.text).join('\n')

describe('PyPI Set Me Up', () => {
  it('percent-encodes the user and token inside the index URL, but not in .pypirc', () => {
    const snippets = byId({ ...base, user: 'alice@example.test', token: 'a/b+c' })
    expect(snippets['pip-conf']!.text).toContain('//alice%40example.test:a%2Fb%2Bc@localhost:8081/')
    expect(snippets.pypirc!.text).toContain('username = alice@example.test\npassword = a/b+c')
  })

  it('without a token: the placeholder, unencoded, so it is easy to spot', () => {
    expect(byId(base)['pip-install']!.text).toContain(`//alice:${TOKEN_PLACEHOLDER}@localhost:8081/`)
  })

  it('trusted-host on plain HTTP only', () => {
    expect(texts(base)).toContain('trusted-host')
    expect(texts({ ...base, baseUrl: 'https://artifacts.example.test' })).not.toContain('trusted-host')
  })

  it('a remote repository: pip only; a virtual one uploads to its deployment repository', () => {
    expect(pypiSetMeUp({ ...base, rclass: 'remote' }).map((s) => s.id)).toEqual(['pip-conf', 'pip-install'])
    expect(byId({ ...base, rclass: 'virtual' }).pypirc!.description).toMatch(/deployment repository/)
  })
})
