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
    expect(ids({ ...base, packageType: 'npm', rclass: 'remote' })).not.toContain('npm-publish')
    expect(ids({ ...base, packageType: 'pypi', rclass: 'remote' })).not.toContain('twine-upload')
    expect(ids({ ...base, packageType: 'maven', rclass: 'remote' })).not.toContain('maven-deploy')
    expect(ids({ ...base, packageType: 'maven', rclass: 'remote' })).not.toContain('maven-deploy-file')
    expect(ids({ ...base, packageType: 'helm', rclass: 'remote' })).not.toContain('helm-upload')
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

  describe('pypi', () => {
    const py = { ...base, key: 'py', packageType: 'pypi' }
    const byId = (ctx: SetupContext) => Object.fromEntries(setupSnippets(ctx).map((s) => [s.id, s]))

    it('local: pip.conf and pip install on the simple/ index with credentials, .pypirc and twine for uploads', () => {
      const snippets = byId({ ...py, token: 'trv_p' })
      expect(Object.keys(snippets)).toEqual(['pip-conf', 'pip-install', 'pypirc', 'twine-upload'])
      expect(snippets['pip-conf']!.file).toBe('pip.conf')
      expect(snippets['pip-conf']!.text).toBe('[global]\nindex-url = http://alice:trv_p@localhost:8081/artifactory/api/pypi/py/simple/\ntrusted-host = localhost')
      expect(snippets['pip-install']!.text).toBe(
        'pip install --index-url http://alice:trv_p@localhost:8081/artifactory/api/pypi/py/simple/ --trusted-host localhost my-package',
      )
      expect(snippets.pypirc!.file).toBe('.pypirc')
      // twine's repository is the upload URL, not the simple/ index.
      expect(snippets.pypirc!.text).toBe(
        '[distutils]\nindex-servers = trove\n\n[trove]\nrepository = http://localhost:8081/artifactory/api/pypi/py\nusername = alice\npassword = trv_p',
      )
      expect(snippets['twine-upload']!.text).toBe('twine upload -r trove dist/*')
    })

    it('without a token: the placeholder, unencoded, in the URL and in .pypirc', () => {
      const snippets = byId(py)
      expect(snippets['pip-install']!.text).toContain('--index-url http://alice:<TOKEN>@localhost:8081/artifactory/api/pypi/py/simple/ ')
      expect(snippets.pypirc!.text).toContain('password = <TOKEN>')
    })

    it('percent-encodes the user and token inside the index URL, but not in .pypirc', () => {
      const snippets = byId({ ...py, user: 'alice@example.test', token: 'a/b+c' })
      expect(snippets['pip-conf']!.text).toContain('index-url = http://alice%40example.test:a%2Fb%2Bc@localhost:8081/artifactory/api/pypi/py/simple/')
      expect(snippets.pypirc!.text).toContain('username = alice@example.test\npassword = a/b+c')
    })

    it('remote: install only, no .pypirc or twine', () => {
      expect(ids({ ...py, rclass: 'remote' })).toEqual(['pip-conf', 'pip-install'])
    })

    it('virtual: install and upload, both on the virtual URL', () => {
      const snippets = byId({ ...py, key: 'py-virtual', rclass: 'virtual', token: 'trv_v' })
      expect(Object.keys(snippets)).toEqual(['pip-conf', 'pip-install', 'pypirc', 'twine-upload'])
      expect(snippets['pip-conf']!.text).toContain('index-url = http://alice:trv_v@localhost:8081/artifactory/api/pypi/py-virtual/simple/')
      expect(snippets.pypirc!.text).toContain('repository = http://localhost:8081/artifactory/api/pypi/py-virtual\n')
      expect(snippets.pypirc!.description).toMatch(/deployment repository/)
    })

    it('over https: no trusted-host', () => {
      const text = texts({ ...py, baseUrl: 'https://artifacts.example.test' })
      expect(text).not.toContain('trusted-host')
      expect(text).toContain('index-url = https://alice:<TOKEN>@artifacts.example.test/artifactory/api/pypi/py/simple/')
    })
  })

  describe('maven', () => {
    const mvn = { ...base, packageType: 'maven' }
    const byId = (ctx: SetupContext) => Object.fromEntries(setupSnippets(ctx).map((s) => [s.id, s]))
    const centralWithSnapshots = (tag: string) =>
      [
        `        <${tag}>`,
        '          <id>central</id>',
        '          <url>http://localhost:8081/artifactory/maven-virtual</url>',
        '          <releases><enabled>true</enabled></releases>',
        '          <snapshots><enabled>true</enabled></snapshots>',
        `        </${tag}>`,
      ].join('\n')

    it('virtual: credentials, a mirror of everything and central redefined with SNAPSHOTs enabled; deploys too', () => {
      const snippets = byId({ ...mvn, key: 'maven-virtual', rclass: 'virtual', token: 'trv_m' })
      expect(Object.keys(snippets)).toEqual(['maven-settings', 'maven-distribution', 'maven-deploy', 'maven-deploy-file'])
      const settings = snippets['maven-settings']!
      expect(settings.file).toBe('settings.xml')
      expect(settings.text).toContain('    <server>\n      <id>trove-maven-virtual</id>\n      <username>alice</username>\n      <password>trv_m</password>\n    </server>')
      expect(settings.text).toContain(
        '    <mirror>\n      <id>trove-maven-virtual</id>\n      <mirrorOf>*</mirrorOf>\n      <url>http://localhost:8081/artifactory/maven-virtual</url>\n    </mirror>',
      )
      expect(settings.text).toContain(centralWithSnapshots('repository'))
      expect(settings.text).toContain(centralWithSnapshots('pluginRepository'))
      expect(settings.text).toContain('<activeProfiles><activeProfile>trove-maven-virtual</activeProfile></activeProfiles>')
      expect(settings.text.startsWith('<settings>\n') && settings.text.endsWith('\n</settings>')).toBe(true)
      expect(snippets['maven-distribution']!.text).toContain('<url>http://localhost:8081/artifactory/maven-virtual</url>')
    })

    it('remote: the same mirror and central profile, no deploy snippets', () => {
      const snippets = byId({ ...mvn, key: 'maven-remote', rclass: 'remote' })
      expect(Object.keys(snippets)).toEqual(['maven-settings'])
      const text = snippets['maven-settings']!.text
      expect(text).toContain('<mirrorOf>*</mirrorOf>')
      expect(text).toContain('      <url>http://localhost:8081/artifactory/maven-remote</url>')
      expect(text).toContain('<id>central</id>')
      expect(text).toContain('<snapshots><enabled>true</enabled></snapshots>')
    })

    it('local: a profile beside the other repositories (no mirror), distributionManagement for releases and SNAPSHOTs, deploy-file', () => {
      const snippets = byId({ ...mvn, key: 'maven-local', token: 'trv_l' })
      expect(Object.keys(snippets)).toEqual(['maven-settings', 'maven-distribution', 'maven-deploy', 'maven-deploy-file'])
      const settings = snippets['maven-settings']!.text
      expect(settings).not.toContain('<mirror>')
      expect(settings).not.toContain('<id>central</id>')
      expect(settings).toContain('        <repository>\n          <id>trove-maven-local</id>\n          <url>http://localhost:8081/artifactory/maven-local</url>')
      expect(settings).toContain('<activeProfile>trove-maven-local</activeProfile>')
      expect(settings).toContain('<password>trv_l</password>')
      expect(snippets['maven-distribution']!.file).toBe('pom.xml')
      expect(snippets['maven-distribution']!.text).toBe(
        [
          '<distributionManagement>',
          '  <repository>',
          '    <id>trove-maven-local</id>',
          '    <url>http://localhost:8081/artifactory/maven-local</url>',
          '  </repository>',
          '  <snapshotRepository>',
          '    <id>trove-maven-local</id>',
          '    <url>http://localhost:8081/artifactory/maven-local</url>',
          '  </snapshotRepository>',
          '</distributionManagement>',
        ].join('\n'),
      )
      expect(snippets['maven-deploy']!.text).toBe('mvn deploy')
      expect(snippets['maven-deploy-file']!.text).toBe(
        [
          'mvn deploy:deploy-file -Dfile=my-tool-1.0.jar \\',
          '    -DgroupId=org.example -DartifactId=my-tool -Dversion=1.0 -Dpackaging=jar \\',
          '    -Durl=http://localhost:8081/artifactory/maven-local -DrepositoryId=trove-maven-local',
        ].join('\n'),
      )
    })

    it('without a token: the placeholder as it is, not XML-escaped, so it is easy to spot', () => {
      expect(setupSnippets(mvn)[0]!.text).toContain('<password><TOKEN></password>')
    })

    it('escapes the token and the user name for XML', () => {
      const text = setupSnippets({ ...mvn, user: 'a&b', token: 'a<b&c' })[0]!.text
      expect(text).toContain('<password>a&lt;b&amp;c</password>')
      expect(text).toContain('<username>a&amp;b</username>')
    })
  })

  describe('helm', () => {
    const charts = { ...base, key: 'charts', packageType: 'helm' }
    const byId = (ctx: SetupContext) => Object.fromEntries(setupSnippets(ctx).map((s) => [s.id, s.text]))

    it('local: repo add with credentials, update, install; package and upload with curl', () => {
      const snippets = byId({ ...charts, token: 'trv_h' })
      expect(Object.keys(snippets)).toEqual(['helm-repo-add', 'helm-upload'])
      expect(snippets['helm-repo-add']).toBe(
        [
          "helm repo add charts http://localhost:8081/artifactory/api/helm/charts --username alice --password 'trv_h'",
          'helm repo update',
          'helm install my-release charts/my-chart --version 0.1.0',
        ].join('\n'),
      )
      expect(snippets['helm-upload']).toBe(
        'helm package ./my-chart\ncurl -u alice:trv_h -T my-chart-0.1.0.tgz "http://localhost:8081/artifactory/api/helm/charts/my-chart-0.1.0.tgz"',
      )
    })

    it('without a token: the placeholder in repo add and in the upload', () => {
      const snippets = byId(charts)
      expect(snippets['helm-repo-add']).toContain("--password '<TOKEN>'")
      expect(snippets['helm-upload']).toContain('curl -u alice:<TOKEN> -T')
    })

    it('remote: repo add only', () => {
      const snippets = setupSnippets({ ...charts, key: 'helm-remote', rclass: 'remote' })
      expect(snippets.map((s) => s.id)).toEqual(['helm-repo-add'])
      expect(snippets[0]!.text).toContain('helm repo add helm-remote http://localhost:8081/artifactory/api/helm/helm-remote ')
      expect(snippets[0]!.description).toMatch(/cached/)
    })

    it('virtual: repo add and upload on the virtual URL', () => {
      const snippets = byId({ ...charts, key: 'helm-virtual', rclass: 'virtual' })
      expect(Object.keys(snippets)).toEqual(['helm-repo-add', 'helm-upload'])
      expect(snippets['helm-upload']).toContain('"http://localhost:8081/artifactory/api/helm/helm-virtual/my-chart-0.1.0.tgz"')
    })
  })

  it('an unknown package type falls back to the generic curl commands', () => {
    expect(ids({ ...base, packageType: 'cargo' })).toEqual(['curl-deploy', 'curl-download'])
  })

  it('ignores a trailing slash on the base URL', () => {
    expect(texts({ ...base, baseUrl: 'http://localhost:8081/' })).toContain('"http://localhost:8081/artifactory/team-local/releases/1.0/build.tar.gz"')
  })
})
