import { describe, expect, it } from 'vitest'
import { TOKEN_PLACEHOLDER } from '../../api/formats.js'
import { mavenSetMeUp } from './set-me-up.js'

const base = { key: 'maven-local', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' }
const settingsXml = (context: typeof base & { token?: string }) => mavenSetMeUp(context)[0]!.text

describe('Maven Set Me Up', () => {
  it('local: a profile beside the other repositories, no mirror (a local repository alone resolves nothing else)', () => {
    const settings = settingsXml(base)
    expect(settings).not.toContain('<mirror>')
    expect(settings).not.toContain('<id>central</id>')
  })

  it.each(['remote', 'virtual'])('%s: a mirror of everything, and central redefined with SNAPSHOTs enabled', (rclass) => {
    const settings = settingsXml({ ...base, key: 'maven-all', rclass })
    expect(settings).toContain('<mirrorOf>*</mirrorOf>')
    expect(settings.match(/<id>central<\/id>\n.*\n.*\n\s*<snapshots><enabled>true<\/enabled><\/snapshots>/g)).toHaveLength(2)
  })

  it('without a token: the placeholder as it is, not XML-escaped, so it is easy to spot', () => {
    expect(settingsXml(base)).toContain(`<password>${TOKEN_PLACEHOLDER}</password>`)
  })

  it('escapes the token and the user name for XML', () => {
    const text = settingsXml({ ...base, user: 'a&b', token: 'a<b&c' })
    expect(text).toContain('<password>a&lt;b&amp;c</password>')
    expect(text).toContain('<username>a&amp;b</username>')
  })

  it('a remote repository: settings.xml only', () => {
    expect(mavenSetMeUp({ ...base, rclass: 'remote' }).map((s) => s.id)).toEqual(['maven-settings'])
  })
})
