import { describe, expect, it } from 'vitest'
import { setupSnippets, supportedSetupTypes, TOKEN_PLACEHOLDER, type SetupContext } from './snippets.js'

const base: SetupContext = { key: 'team-local', packageType: 'generic', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' }
const texts = (ctx: SetupContext) => setupSnippets(ctx).map((s) => s.text).join('\n')
const ids = (ctx: SetupContext) => setupSnippets(ctx).map((s) => s.id)

describe('Set Me Up snippets', () => {
  it('has snippets of its own for every package type the console knows', () => {
    expect(supportedSetupTypes().sort()).toEqual(['docker', 'generic', 'helm', 'maven', 'npm', 'pypi'])
  })

  it('generic: curl deploy with a checksum header and download, on the browser host', () => {
    const [deploy, download] = setupSnippets(base)
    expect(deploy!.text).toBe(
      [
        'curl -u alice:<TOKEN> -T build.tar.gz \\',
        `     -H "X-Checksum-Sha256: $(sha256sum build.tar.gz | cut -d' ' -f1)" \\`,
        '     "http://localhost:8081/artifactory/team-local/releases/1.0/build.tar.gz"',
      ].join('\n'),
    )
    expect(download!.text).toBe('curl -u alice:<TOKEN> -O "http://localhost:8081/artifactory/team-local/releases/1.0/build.tar.gz"')
  })

  it('fills in the token once there is one, and the placeholder until then', () => {
    expect(texts(base)).toContain(TOKEN_PLACEHOLDER)
    const withToken = texts({ ...base, token: 'trv_abc' })
    expect(withToken).not.toContain(TOKEN_PLACEHOLDER)
    expect(withToken).toContain('alice:trv_abc')
  })

  it('a remote repository gets no push commands', () => {
    expect(ids({ ...base, rclass: 'remote' })).toEqual(['curl-download'])
    expect(ids({ ...base, packageType: 'docker', rclass: 'remote' })).not.toContain('docker-push')
    expect(ids({ ...base, packageType: 'npm', rclass: 'remote' })).not.toContain('npm-publish')
    expect(ids({ ...base, packageType: 'pypi', rclass: 'remote' })).not.toContain('twine-upload')
    expect(ids({ ...base, packageType: 'maven', rclass: 'remote' })).not.toContain('maven-deploy')
  })

  it('docker: login, pull and push with the host:port as registry and the repository as the first path segment', () => {
    const ctx = { ...base, key: 'docker-local', packageType: 'docker', token: 'trv_t' }
    const snippets = Object.fromEntries(setupSnippets(ctx).map((s) => [s.id, s.text]))
    expect(snippets['docker-login']).toBe("echo 'trv_t' | docker login localhost:8081 -u alice --password-stdin")
    expect(snippets['docker-pull']).toBe('docker pull localhost:8081/docker-local/my-image:1.0')
    expect(snippets['docker-push']).toBe('docker tag my-image:1.0 localhost:8081/docker-local/my-image:1.0\ndocker push localhost:8081/docker-local/my-image:1.0')
    // Plain HTTP: podman and skopeo need TLS verification off, helm needs --plain-http.
    expect(snippets.podman).toContain('podman login --tls-verify=false localhost:8081')
    expect(snippets.skopeo).toContain('skopeo inspect --tls-verify=false --creds alice:trv_t docker://localhost:8081/docker-local/my-image:1.0')
    expect(snippets['helm-oci']).toContain('helm push my-chart-0.1.0.tgz oci://localhost:8081/docker-local --plain-http')
  })

  it('docker over https: no TLS switches', () => {
    const text = texts({ ...base, packageType: 'docker', baseUrl: 'https://artifacts.example.test' })
    expect(text).not.toMatch(/tls-verify|plain-http|--insecure/)
    expect(text).toContain('docker pull artifacts.example.test/team-local/my-image:1.0')
  })

  it('npm: .npmrc with the registry and a credential scoped to it (nerf dart)', () => {
    const [npmrc] = setupSnippets({ ...base, key: 'npm-local', packageType: 'npm', token: 'trv_n' })
    expect(npmrc!.file).toBe('.npmrc')
    expect(npmrc!.text).toBe(
      'registry=http://localhost:8081/artifactory/api/npm/npm-local/\n//localhost:8081/artifactory/api/npm/npm-local/:_authToken=trv_n',
    )
    expect(texts({ ...base, key: 'npm-local', packageType: 'npm' })).toContain('npm publish --registry http://localhost:8081/artifactory/api/npm/npm-local/')
  })

  it('pypi: index URL with credentials, trusted-host for plain HTTP, .pypirc and twine for uploads', () => {
    const snippets = Object.fromEntries(setupSnippets({ ...base, key: 'py', packageType: 'pypi', token: 'trv_p' }).map((s) => [s.id, s.text]))
    expect(snippets['pip-conf']).toBe('[global]\nindex-url = http://alice:trv_p@localhost:8081/artifactory/api/pypi/py/simple\ntrusted-host = localhost')
    expect(snippets.pypirc).toContain('repository = http://localhost:8081/artifactory/api/pypi/py\nusername = alice\npassword = trv_p')
    expect(snippets['twine-upload']).toBe('twine upload -r trove dist/*')
  })

  it('maven: a mirror for remote and virtual repositories, a profile and distributionManagement for local ones', () => {
    const remote = setupSnippets({ ...base, key: 'maven-remote', packageType: 'maven', rclass: 'remote' })
    expect(remote[0]!.text).toContain('<mirrorOf>*</mirrorOf>')
    expect(remote[0]!.text).toContain('<url>http://localhost:8081/artifactory/maven-remote</url>')
    const local = Object.fromEntries(setupSnippets({ ...base, key: 'maven-local', packageType: 'maven' }).map((s) => [s.id, s.text]))
    expect(local['maven-settings']).toContain('<activeProfile>trove-maven-local</activeProfile>')
    expect(local['maven-distribution']).toContain('<id>trove-maven-local</id>')
  })

  it('maven: the token is escaped for XML', () => {
    expect(setupSnippets({ ...base, packageType: 'maven', token: 'a<b&c' })[0]!.text).toContain('<password>a&lt;b&amp;c</password>')
  })

  it('helm: repo add with credentials, upload with curl', () => {
    const text = texts({ ...base, key: 'charts', packageType: 'helm', token: 'trv_h' })
    expect(text).toContain("helm repo add charts http://localhost:8081/artifactory/api/helm/charts --username alice --password 'trv_h'")
    expect(text).toContain('curl -u alice:trv_h -T my-chart-0.1.0.tgz "http://localhost:8081/artifactory/api/helm/charts/my-chart-0.1.0.tgz"')
  })

  it('an unknown package type falls back to the generic curl commands', () => {
    expect(ids({ ...base, packageType: 'cargo' })).toEqual(['curl-deploy', 'curl-download'])
  })

  it('ignores a trailing slash on the base URL', () => {
    expect(texts({ ...base, baseUrl: 'http://localhost:8081/' })).toContain('"http://localhost:8081/artifactory/team-local/releases/1.0/build.tar.gz"')
  })
})
