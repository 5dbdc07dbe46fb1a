/**
 * What every format's Set Me Up snippets share: the token placeholder in every credential, the
 * token when one is given, no push commands for a remote repository, the same snippets for a
 * virtual repository as for a local one, and the console's token substitution (`withToken`)
 * giving exactly what the format renders with the token. Each format's own rules are tested
 * beside it (`<format>/set-me-up.test.ts`); whether the snippets work is tested by running them
 * with the real clients against a live Trove: test/e2e/set-me-up.test.ts.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TOKEN_PLACEHOLDER, withToken, type SetupContext } from '../api/formats.js'
import { FORMATS } from './index.js'

const base = { key: 'team-local', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' } satisfies SetupContext
const withSnippets = FORMATS.filter((f) => f.setMeUp !== undefined)
const cases = withSnippets.flatMap((format) => ['local', 'remote', 'virtual'].map((rclass) => [format.id, rclass] as const))
const render = (id: string, context: SetupContext) => FORMATS.find((f) => f.id === id)!.setMeUp!(context)
const texts = (id: string, context: SetupContext) => render(id, context).map((s) => s.text).join('\n')
const ids = (id: string, context: SetupContext) => render(id, context).map((s) => s.id)

describe('Set Me Up, every format', () => {
  it('every format has snippets, a title and a console descriptor', () => {
    expect(withSnippets.map((f) => f.id)).toEqual(FORMATS.map((f) => f.id))
    for (const format of FORMATS) {
      expect(format.title, format.id).toMatch(/\S/)
      expect(format.console?.packageNoun, format.id).toMatch(/^[a-z]+$/)
    }
  })

  it.each(cases)('%s %s: the placeholder in every credential until a token is made, then the token and no placeholder', (id, rclass) => {
    const context = { ...base, rclass }
    expect(texts(id, context)).toContain(TOKEN_PLACEHOLDER)
    const withTokenText = texts(id, { ...context, token: 'trv_abc' })
    expect(withTokenText).not.toContain(TOKEN_PLACEHOLDER)
    expect(withTokenText).toContain('trv_abc')
  })

  it.each(cases)("%s %s: the console's substitution of a Trove token gives what the format renders with it", (id, rclass) => {
    // Trove's tokens: trv_ and 32 random bytes in base64url (token-service.ts).
    for (let i = 0; i < 20; i++) {
      const token = `trv_${randomBytes(32).toString('base64url')}`
      for (const baseUrl of ['http://localhost:8081', 'https://artifacts.example.test']) {
        const context = { ...base, rclass, baseUrl, user: 'dev@example.test' }
        expect(render(id, context).map((s) => withToken(s, token))).toEqual(render(id, { ...context, token }))
      }
    }
  })

  it.each(withSnippets.map((f) => f.id))('%s: a remote repository gets no push commands, a virtual one the same as a local one', (id) => {
    const local = ids(id, base)
    expect(ids(id, { ...base, rclass: 'virtual' })).toEqual(local)
    const remote = ids(id, { ...base, rclass: 'remote' })
    expect(remote.length).toBeLessThan(local.length)
    expect(texts(id, { ...base, rclass: 'remote' })).not.toMatch(/curl .*-T |publish|push|copy|upload|deploy/)
  })

  it('ignores a trailing slash on the base URL', () => {
    expect(texts('generic', { ...base, baseUrl: 'http://localhost:8081/' })).toContain('"http://localhost:8081/artifactory/team-local/releases/1.0/build.tar.gz"')
  })
})
