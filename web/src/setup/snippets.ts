/**
 * Set Me Up: the exact commands and configuration files that point a client at one repository,
 * keyed by package type, for the host the browser used. Pure functions; test/e2e/set-me-up.test.ts
 * runs what they render with the real clients against a live Trove.
 */

export interface SetupContext {
  readonly key: string
  readonly packageType: string
  /** `local`, `remote`, `virtual` or `federated`. */
  readonly rclass: string
  /** Where the browser reached Trove, e.g. `http://localhost:8081` (no trailing slash). */
  readonly baseUrl: string
  readonly user: string
  /** A token created on request; without it the snippets hold {@link TOKEN_PLACEHOLDER}. */
  readonly token?: string | undefined
}

export interface Snippet {
  readonly id: string
  readonly title: string
  /** One line saying what it is for. */
  readonly description: string
  /** The file it goes in, when it is a file rather than commands. */
  readonly file?: string
  readonly text: string
}

export const TOKEN_PLACEHOLDER = '<TOKEN>'

type Builder = (ctx: Resolved) => Snippet[]

interface Resolved extends SetupContext {
  readonly secret: string
  /** `localhost:8081` */
  readonly host: string
  /** `localhost` */
  readonly hostname: string
  readonly isPlainHttp: boolean
  /** Pushes are accepted (local, federated; virtual through its deployment repository). */
  readonly canPush: boolean
}

/** The snippets for a repository; package types without their own get the generic (curl) ones. */
export function setupSnippets(ctx: SetupContext): Snippet[] {
  const url = new URL(ctx.baseUrl)
  const resolved: Resolved = {
    ...ctx,
    baseUrl: ctx.baseUrl.replace(/\/+$/, ''),
    secret: ctx.token ?? TOKEN_PLACEHOLDER,
    host: url.host,
    hostname: url.hostname,
    isPlainHttp: url.protocol === 'http:',
    canPush: ctx.rclass !== 'remote',
  }
  return (BUILDERS[ctx.packageType] ?? generic)(resolved)
}

/** Package types with snippets of their own. */
export function supportedSetupTypes(): string[] {
  return Object.keys(BUILDERS)
}

const generic: Builder = (c) => {
  const url = `${c.baseUrl}/artifactory/${c.key}`
  const snippets: Snippet[] = []
  if (c.canPush) {
    snippets.push({
      id: 'curl-deploy',
      title: 'Deploy a file with curl',
      description: 'Uploads build.tar.gz; Trove verifies the checksum header when you give one.',
      text: [
        `curl -u ${c.user}:${c.secret} -T build.tar.gz \\`,
        `     -H "X-Checksum-Sha256: $(sha256sum build.tar.gz | cut -d' ' -f1)" \\`,
        `     "${url}/releases/1.0/build.tar.gz"`,
      ].join('\n'),
    })
  }
  snippets.push({
    id: 'curl-download',
    title: 'Download a file with curl',
    description: 'Any path in the repository; add -r 0-1023 for a range.',
    text: `curl -u ${c.user}:${c.secret} -O "${url}/releases/1.0/build.tar.gz"`,
  })
  return snippets
}

const docker: Builder = (c) => {
  const image = `${c.host}/${c.key}/my-image`
  const tls = c.isPlainHttp ? ' --tls-verify=false' : ''
  const snippets: Snippet[] = [
    {
      id: 'docker-login',
      title: 'Log in with docker',
      description: c.isPlainHttp
        ? `Plain HTTP: docker accepts it for localhost; for another host add "${c.host}" to "insecure-registries" in /etc/docker/daemon.json.`
        : 'The token is the password.',
      text: `echo '${c.secret}' | docker login ${c.host} -u ${c.user} --password-stdin`,
    },
    {
      id: 'docker-pull',
      title: 'Pull with docker',
      description: c.rclass === 'remote' ? 'Pulled through the cache: any image the upstream has, by its upstream name.' : 'Images are addressed as host/repository/image:tag.',
      text: `docker pull ${image}:1.0`,
    },
  ]
  if (c.canPush) {
    snippets.push({
      id: 'docker-push',
      title: 'Push with docker',
      description: 'Tag a local image with the repository path, then push it.',
      text: [`docker tag my-image:1.0 ${image}:1.0`, `docker push ${image}:1.0`].join('\n'),
    })
  }
  snippets.push(
    {
      id: 'podman',
      title: 'podman',
      description: 'Same names as docker.',
      text: [
        `echo '${c.secret}' | podman login${tls} ${c.host} -u ${c.user} --password-stdin`,
        `podman pull${tls} ${image}:1.0`,
        ...(c.canPush ? [`podman push${tls} my-image:1.0 ${image}:1.0`] : []),
      ].join('\n'),
    },
    {
      id: 'skopeo',
      title: 'skopeo',
      description: 'Inspect or copy without a daemon.',
      text: [
        `skopeo inspect${tls} --creds ${c.user}:${c.secret} docker://${image}:1.0`,
        ...(c.canPush ? [`skopeo copy${c.isPlainHttp ? ' --dest-tls-verify=false' : ''} --dest-creds ${c.user}:${c.secret} oci-archive:my-image.tar docker://${image}:1.0`] : []),
      ].join('\n'),
    },
  )
  if (c.canPush) {
    snippets.push({
      id: 'helm-oci',
      title: 'Helm charts as OCI artifacts',
      description: 'A docker repository also stores Helm charts.',
      text: [
        `helm registry login ${c.host} -u ${c.user} --password '${c.secret}'${c.isPlainHttp ? ' --insecure' : ''}`,
        `helm push my-chart-0.1.0.tgz oci://${c.host}/${c.key}${c.isPlainHttp ? ' --plain-http' : ''}`,
      ].join('\n'),
    })
  }
  return snippets
}

const npm: Builder = (c) => {
  const registry = `${c.baseUrl}/artifactory/api/npm/${c.key}/`
  const nerfDart = registry.replace(/^https?:/, '')
  const snippets: Snippet[] = [
    {
      id: 'npmrc',
      title: '.npmrc',
      description: 'In your home folder or the project: every package comes through this repository.',
      file: '.npmrc',
      text: [`registry=${registry}`, `${nerfDart}:_authToken=${c.secret}`].join('\n'),
    },
    {
      id: 'npmrc-scoped',
      title: '.npmrc for one scope only',
      description: 'Only @my-scope packages come from Trove; the rest from your default registry.',
      file: '.npmrc',
      text: [`@my-scope:registry=${registry}`, `${nerfDart}:_authToken=${c.secret}`].join('\n'),
    },
    {
      id: 'npm-install',
      title: 'Install',
      description: 'With the .npmrc above in place.',
      text: 'npm install my-package',
    },
  ]
  if (c.canPush) {
    snippets.push({
      id: 'npm-publish',
      title: 'Publish',
      description: 'From the package folder, with the .npmrc above in place.',
      text: `npm publish --registry ${registry}`,
    })
  }
  snippets.push({
    id: 'npm-login',
    title: 'Or log in with your password',
    description: 'npm stores a fresh Trove token in ~/.npmrc.',
    text: `npm login --registry ${registry} --auth-type=legacy`,
  })
  return snippets
}

const pypi: Builder = (c) => {
  // The token is percent-encoded inside the URL; the placeholder stays readable so it can be spotted and replaced.
  const credentials = `${encodeURIComponent(c.user)}:${c.secret === TOKEN_PLACEHOLDER ? c.secret : encodeURIComponent(c.secret)}`
  // PEP 503 index root, with its trailing slash as Trove serves it (docs/drafts/pypi.md).
  const simple = `${c.baseUrl.replace('://', `://${credentials}@`)}/artifactory/api/pypi/${c.key}/simple/`
  const trusted = c.isPlainHttp ? [`trusted-host = ${c.hostname}`] : []
  const snippets: Snippet[] = [
    {
      id: 'pip-conf',
      title: 'pip.conf',
      description:
        c.rclass === 'remote'
          ? 'In ~/.config/pip/pip.conf (or a virtualenv\'s pip.conf): every package comes through this cache of the upstream index.'
          : 'In ~/.config/pip/pip.conf (or a virtualenv\'s pip.conf): every package comes through this repository.',
      file: 'pip.conf',
      text: ['[global]', `index-url = ${simple}`, ...trusted].join('\n'),
    },
    {
      id: 'pip-install',
      title: 'Install once',
      description: 'Without a pip.conf.',
      text: `pip install --index-url ${simple}${c.isPlainHttp ? ` --trusted-host ${c.hostname}` : ''} my-package`,
    },
  ]
  if (c.canPush) {
    snippets.push(
      {
        id: 'pypirc',
        title: '.pypirc',
        description:
          c.rclass === 'virtual'
            ? "In your home folder, for twine: uploads land in the virtual repository's deployment repository."
            : 'In your home folder, for twine.',
        file: '.pypirc',
        text: [
          '[distutils]',
          'index-servers = trove',
          '',
          '[trove]',
          // twine's upload URL is the repository itself, not its simple/ index.
          `repository = ${c.baseUrl}/artifactory/api/pypi/${c.key}`,
          `username = ${c.user}`,
          `password = ${c.secret}`,
        ].join('\n'),
      },
      {
        id: 'twine-upload',
        title: 'Upload with twine',
        description: 'The wheels and sdists that python -m build wrote, with the .pypirc above in place.',
        text: 'twine upload -r trove dist/*',
      },
    )
  }
  return snippets
}

const maven: Builder = (c) => {
  const url = `${c.baseUrl}/artifactory/${c.key}`
  // One id for the server, mirror, profile and deploy target: Maven finds the credentials by it.
  const id = `trove-${c.key}`
  const password = c.secret === TOKEN_PLACEHOLDER ? c.secret : xml(c.secret)
  const server = ['    <server>', `      <id>${id}</id>`, `      <username>${xml(c.user)}</username>`, `      <password>${password}</password>`, '    </server>']
  const withSnapshots = (tag: string, repoId: string) => [
    `        <${tag}>`,
    `          <id>${repoId}</id>`,
    `          <url>${url}</url>`,
    '          <releases><enabled>true</enabled></releases>',
    '          <snapshots><enabled>true</enabled></snapshots>',
    `        </${tag}>`,
  ]
  const settings =
    c.rclass === 'local'
      ? // A local repository holds only what was deployed to it: add it beside the others rather than
        // mirroring everything to it, or nothing from anywhere else would resolve.
        [
          '<settings>',
          '  <servers>',
          ...server,
          '  </servers>',
          '  <profiles>',
          '    <profile>',
          `      <id>${id}</id>`,
          '      <repositories>',
          ...withSnapshots('repository', id),
          '      </repositories>',
          '    </profile>',
          '  </profiles>',
          `  <activeProfiles><activeProfile>${id}</activeProfile></activeProfiles>`,
          '</settings>',
        ]
      : // Everything through this repository. `central` is redefined with SNAPSHOTs enabled: Maven's
        // built-in one disables them and a mirror keeps the policy of what it mirrors, so without it
        // SNAPSHOT dependencies would never be looked up (docs/drafts/maven.md).
        [
          '<settings>',
          '  <servers>',
          ...server,
          '  </servers>',
          '  <mirrors>',
          '    <mirror>',
          `      <id>${id}</id>`,
          '      <mirrorOf>*</mirrorOf>',
          `      <url>${url}</url>`,
          '    </mirror>',
          '  </mirrors>',
          '  <profiles>',
          '    <profile>',
          `      <id>${id}</id>`,
          '      <repositories>',
          ...withSnapshots('repository', 'central'),
          '      </repositories>',
          '      <pluginRepositories>',
          ...withSnapshots('pluginRepository', 'central'),
          '      </pluginRepositories>',
          '    </profile>',
          '  </profiles>',
          `  <activeProfiles><activeProfile>${id}</activeProfile></activeProfiles>`,
          '</settings>',
        ]
  const snippets: Snippet[] = [
    {
      id: 'maven-settings',
      title: 'settings.xml',
      description:
        c.rclass === 'local'
          ? 'In ~/.m2/settings.xml: resolves from this repository as well as your others.'
          : 'In ~/.m2/settings.xml: every dependency and plugin, releases and SNAPSHOTs, comes through this repository.',
      file: 'settings.xml',
      text: settings.join('\n'),
    },
  ]
  if (c.canPush) {
    snippets.push(
      {
        id: 'maven-distribution',
        title: 'pom.xml',
        description:
          c.rclass === 'virtual'
            ? "Where mvn deploy puts the artifacts: the virtual repository's deployment repository (the id matches the server above)."
            : 'Where mvn deploy puts the artifacts, releases and SNAPSHOTs (the id matches the server above).',
        file: 'pom.xml',
        text: [
          '<distributionManagement>',
          '  <repository>',
          `    <id>${id}</id>`,
          `    <url>${url}</url>`,
          '  </repository>',
          '  <snapshotRepository>',
          `    <id>${id}</id>`,
          `    <url>${url}</url>`,
          '  </snapshotRepository>',
          '</distributionManagement>',
        ].join('\n'),
      },
      { id: 'maven-deploy', title: 'Deploy', description: 'From the project folder.', text: 'mvn deploy' },
      {
        id: 'maven-deploy-file',
        title: 'Deploy a single file',
        description: 'A jar built elsewhere, without a pom.xml; the credentials come from the settings.xml server with this repositoryId.',
        text: [
          'mvn deploy:deploy-file -Dfile=my-tool-1.0.jar \\',
          '    -DgroupId=org.example -DartifactId=my-tool -Dversion=1.0 -Dpackaging=jar \\',
          `    -Durl=${url} -DrepositoryId=${id}`,
        ].join('\n'),
      },
    )
  }
  return snippets
}

const helm: Builder = (c) => {
  const url = `${c.baseUrl}/artifactory/api/helm/${c.key}`
  const snippets: Snippet[] = [
    {
      id: 'helm-repo-add',
      title: 'Add the chart repository',
      description:
        c.rclass === 'remote'
          ? 'Charts of the upstream repository, cached on first download; install them by <repository>/<chart>.'
          : 'Then install charts from it by <repository>/<chart>.',
      text: [
        `helm repo add ${c.key} ${url} --username ${c.user} --password '${c.secret}'`,
        'helm repo update',
        `helm install my-release ${c.key}/my-chart --version 0.1.0`,
      ].join('\n'),
    },
  ]
  if (c.canPush) {
    snippets.push({
      id: 'helm-upload',
      title: 'Upload a chart',
      description:
        'The package that helm package wrote, named <chart>-<version>.tgz; it is in the index at the next helm repo update.' +
        (c.rclass === 'virtual' ? " It lands in the virtual repository's deployment repository." : ''),
      text: ['helm package ./my-chart', `curl -u ${c.user}:${c.secret} -T my-chart-0.1.0.tgz "${url}/my-chart-0.1.0.tgz"`].join('\n'),
    })
  }
  return snippets
}

const BUILDERS: Readonly<Record<string, Builder>> = { generic, docker, npm, pypi, maven, helm }

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
