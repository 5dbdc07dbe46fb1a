/**
 * The logic of the Set Me Up snippets: which snippets a repository gets, where the token goes and
 * how it is escaped, what changes with plain HTTP. Whether the snippets work is tested by running
 * them with the real clients against a live Trove: test/e2e/set-me-up.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { setupSnippets, supportedSetupTypes, TOKEN_PLACEHOLDER, type SetupContext } from './snippets.js'

const base: SetupContext = { key: 'team-local', packageType: 'generic', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' }
const texts = (ctx: SetupContext) => setupSnippets(ctx).map((s) => s.text).join('\n')
const ids = (ctx: SetupContext) => setupSnippets(ctx).map((s) => s.id)
const byId = (ctx: SetupContext) => Object.fromEntries(setupSnippets(ctx).map((s) => [s.id, s]))

describe('Set Me Up snippets', () => {
  it('has snippets of its own for every package type the console knows', () => {
    expect(supportedSetupTypes().sort()).toEqual(['docker', 'generic', 'helm', 'maven', 'npm', 'pypi'])
  })

  it.each(supportedSetupTypes().flatMap((packageType) => ['local', 'remote', 'virtual'].map((rclass) => [packageType, rclass])))(
    '%s %s: the placeholder in every credential until a token is made, then the token and no placeholder',
    (packageType, rclass) => {
      const ctx = { ...base, packageType: packageType!, rclass: rclass! }
      expect(texts(ctx)).toContain(TOKEN_PLACEHOLDER)
      const withToken = texts({ ...ctx, token: 'trv_abc' })
      expect(withToken).not.toContain(TOKEN_PLACEHOLDER)
      expect(withToken).toContain('trv_abc')
    },
  )

  it('a remote repository gets no push commands', () => {
    expect(ids({ ...base, rclass: 'remote' })).toEqual(['curl-download'])
    expect(ids({ ...base, packageType: 'docker', rclass: 'remote' })).not.toContain('docker-push')
    expect(texts({ ...base, packageType: 'docker', rclass: 'remote' })).not.toMatch(/podman push|skopeo copy|helm push/)
    expect(ids({ ...base, packageType: 'npm', rclass: 'remote' })).not.toContain('npm-publish')
    expect(ids({ ...base, packageType: 'pypi', rclass: 'remote' })).toEqual(['pip-conf', 'pip-install'])
    expect(ids({ ...base, packageType: 'maven', rclass: 'remote' })).toEqual(['maven-settings'])
    expect(ids({ ...base, packageType: 'helm', rclass: 'remote' })).toEqual(['helm-repo-add'])
  })

  it('a virtual repository gets the push commands too, on its own URL (its deployment repository takes them)', () => {
    for (const packageType of supportedSetupTypes()) {
      const local = ids({ ...base, packageType })
      expect(ids({ ...base, packageType, rclass: 'virtual' }), packageType).toEqual(local)
    }
    expect(byId({ ...base, packageType: 'pypi', rclass: 'virtual' }).pypirc!.description).toMatch(/deployment repository/)
    expect(byId({ ...base, packageType: 'helm', rclass: 'virtual' })['helm-upload']!.description).toMatch(/deployment repository/)
  })

  it('docker: TLS switches on plain HTTP only, on every podman, skopeo and helm line', () => {
    const plain = byId({ ...base, packageType: 'docker' })
    for (const line of [...plain.podman!.text.split('\n'), ...plain.skopeo!.text.split('\n')]) expect(line).toMatch(/--(dest-)?tls-verify=false/)
    expect(plain['helm-oci']!.text).toMatch(/--insecure[\s\S]*--plain-http/)
    const text = texts({ ...base, packageType: 'docker', baseUrl: 'https://artifacts.example.test' })
    expect(text).not.toMatch(/tls-verify|plain-http|--insecure/)
    // The registry is the host (with its port); the repository is the first path segment.
    expect(text).toContain(' artifacts.example.test/team-local/my-image:1.0')
  })

  it('npm: the credential is keyed by the registry URL without its scheme (the nerf dart), in both .npmrc forms', () => {
    for (const id of ['npmrc', 'npmrc-scoped']) {
      const [registryLine, authLine] = byId({ ...base, packageType: 'npm', token: 'trv_n' })[id]!.text.split('\n')
      const registry = registryLine!.split('=')[1]!
      expect(authLine).toBe(`${registry.replace(/^http:/, '')}:_authToken=trv_n`)
    }
  })

  describe('pypi', () => {
    const py = { ...base, key: 'py', packageType: 'pypi' }

    it('percent-encodes the user and token inside the index URL, but not in .pypirc', () => {
      const snippets = byId({ ...py, user: 'alice@example.test', token: 'a/b+c' })
      expect(snippets['pip-conf']!.text).toContain('//alice%40example.test:a%2Fb%2Bc@localhost:8081/')
      expect(snippets.pypirc!.text).toContain('username = alice@example.test\npassword = a/b+c')
    })

    it('without a token: the placeholder, unencoded, so it is easy to spot', () => {
      expect(byId(py)['pip-install']!.text).toContain(`//alice:${TOKEN_PLACEHOLDER}@localhost:8081/`)
    })

    it('trusted-host on plain HTTP only', () => {
      expect(texts(py)).toContain('trusted-host')
      expect(texts({ ...py, baseUrl: 'https://artifacts.example.test' })).not.toContain('trusted-host')
    })
  })

  describe('maven', () => {
    const mvn = { ...base, packageType: 'maven' }

    it('local: a profile beside the other repositories, no mirror (a local repository alone resolves nothing else)', () => {
      const settings = byId({ ...mvn, key: 'maven-local' })['maven-settings']!.text
      expect(settings).not.toContain('<mirror>')
      expect(settings).not.toContain('<id>central</id>')
    })

    it.each(['remote', 'virtual'])('%s: a mirror of everything, and central redefined with SNAPSHOTs enabled', (rclass) => {
      const settings = byId({ ...mvn, key: 'maven-all', rclass })['maven-settings']!.text
      expect(settings).toContain('<mirrorOf>*</mirrorOf>')
      expect(settings.match(/<id>central<\/id>\n.*\n.*\n\s*<snapshots><enabled>true<\/enabled><\/snapshots>/g)).toHaveLength(2)
    })

    it('without a token: the placeholder as it is, not XML-escaped, so it is easy to spot', () => {
      expect(setupSnippets(mvn)[0]!.text).toContain(`<password>${TOKEN_PLACEHOLDER}</password>`)
    })

    it('escapes the token and the user name for XML', () => {
      const text = setupSnippets({ ...mvn, user: 'a&b', token: 'a<b&c' })[0]!.text
      expect(text).toContain('<password>a&lt;b&amp;c</password>')
      expect(text).toContain('<username>a&amp;b</username>')
    })
  })

  it('an unknown package type falls back to the generic curl commands', () => {
    expect(ids({ ...base, packageType: 'cargo' })).toEqual(['curl-deploy', 'curl-download'])
  })

  it('ignores a trailing slash on the base URL', () => {
    expect(texts({ ...base, baseUrl: 'http://localhost:8081/' })).toContain('"http://localhost:8081/artifactory/team-local/releases/1.0/build.tar.gz"')
  })
})
