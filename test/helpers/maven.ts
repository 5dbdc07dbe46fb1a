/**
 * Driving the real `mvn` against Trove with no internet: Maven's own plugins come from a static
 * file server on 127.0.0.1 over the machine's Maven repositories (the `~/.m2/repository` the
 * machine image ships, and Debian's `/usr/share/maven-repo` from the `lib*-java` packages), which
 * the tests put behind a Trove remote repository. So every byte a build needs, plugins included,
 * resolves through Trove from an empty local repository, as on a developer's machine whose
 * settings.xml mirrors everything to Trove.
 */
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { homedir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileRequirement, type Requirement } from './clients.js'

/** Where the machine keeps Maven artifacts, searched in this order. */
export const MACHINE_MAVEN_REPOSITORIES = [join(homedir(), '.m2', 'repository'), '/usr/share/maven-repo']

/**
 * Plugin versions that resolve offline from those repositories (checked on the machine image:
 * Maven 3.8.7's own default bindings are older and some of their dependencies are missing).
 * maven-dependency-plugin 3.8.1 also needs commons-beanutils 1.9.4, from Debian's
 * libcommons-beanutils-java (installed by .ci/run).
 */
export const PLUGINS = {
  resources: '3.3.1',
  compiler: '3.13.0',
  surefire: '3.2.5',
  jar: '3.4.1',
  install: '3.1.2',
  deploy: '3.1.2',
  dependency: '3.8.1',
} as const

/** Debian's commons-beanutils, which maven-dependency-plugin needs (see {@link PLUGINS}). */
export const DEBIAN_BEANUTILS: Requirement = fileRequirement(
  'commons-beanutils 1.9.4 for maven-dependency-plugin',
  '/usr/share/maven-repo/commons-beanutils/commons-beanutils/1.9.4',
  'apt-get install -y libcommons-beanutils-java',
)

export interface StaticMavenRepository {
  readonly url: string
  /** Paths asked for, for asserting that plugins really came through Trove. */
  readonly requests: string[]
  close(): Promise<void>
}

/** Serves files from `roots` (first match wins) read-only on 127.0.0.1; anything else is a 404. */
export async function startStaticMavenRepository(roots: readonly string[] = MACHINE_MAVEN_REPOSITORIES): Promise<StaticMavenRepository> {
  const requests: string[] = []
  const sockets = new Set<Socket>()
  const server = http.createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0]!)
    requests.push(path)
    void (async () => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405).end()
        return
      }
      for (const root of roots) {
        const file = resolve(root, `.${path}`)
        if (!file.startsWith(root + sep)) continue
        const info = await stat(file).catch(() => undefined)
        if (!info?.isFile()) continue
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(info.size) })
        if (request.method === 'HEAD') response.end()
        else await pipeline(createReadStream(file), response)
        return
      }
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    })().catch(() => response.destroy())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => done())
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}

export interface MavenServer {
  readonly id: string
  readonly username: string
  readonly password: string
}

/** A settings.xml: its own local repository, every repository mirrored to `mirrorUrl`, credentials per server id. */
export async function writeSettings(
  file: string,
  options: { localRepository: string; mirrorUrl: string; servers: readonly MavenServer[] },
): Promise<void> {
  const servers = options.servers
    .map((s) => `    <server><id>${s.id}</id><username>${s.username}</username><password>${s.password}</password></server>`)
    .join('\n')
  await mkdir(dirname(file), { recursive: true })
  await writeFile(
    file,
    `<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">
  <localRepository>${options.localRepository}</localRepository>
  <servers>
${servers}
  </servers>
  <mirrors>
    <mirror><id>trove</id><mirrorOf>*</mirrorOf><url>${options.mirrorUrl}</url></mirror>
  </mirrors>
  <!-- Maven's built-in central disables SNAPSHOTs, and a mirror keeps the policy of what it
       mirrors: redefine central with both enabled (its URL is replaced by the mirror's). -->
  <profiles>
    <profile>
      <id>trove</id>
      <repositories>
        <repository><id>central</id><url>${options.mirrorUrl}</url><releases><enabled>true</enabled></releases><snapshots><enabled>true</enabled></snapshots></repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository><id>central</id><url>${options.mirrorUrl}</url><releases><enabled>true</enabled></releases><snapshots><enabled>true</enabled></snapshots></pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>trove</activeProfile></activeProfiles>
</settings>
`,
  )
}

export interface ProjectOptions {
  readonly groupId: string
  readonly artifactId: string
  readonly version: string
  /** `<repository>` and `<snapshotRepository>` of `<distributionManagement>`: server id and URL. */
  readonly releases?: { id: string; url: string }
  readonly snapshots?: { id: string; url: string }
  readonly dependencies?: readonly { groupId: string; artifactId: string; version: string }[]
  /** Java sources by path under src/main/java. */
  readonly sources: Readonly<Record<string, string>>
}

/** A small jar project, plugin versions pinned to ones that resolve offline. */
export async function writeProject(dir: string, project: ProjectOptions): Promise<void> {
  const plugin = (artifactId: string, version: string) =>
    `      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></plugin>`
  const distribution = [
    project.releases ? `    <repository><id>${project.releases.id}</id><url>${project.releases.url}</url></repository>` : '',
    project.snapshots ? `    <snapshotRepository><id>${project.snapshots.id}</id><url>${project.snapshots.url}</url></snapshotRepository>` : '',
  ].join('\n')
  const dependencies = (project.dependencies ?? [])
    .map((d) => `    <dependency><groupId>${d.groupId}</groupId><artifactId>${d.artifactId}</artifactId><version>${d.version}</version></dependency>`)
    .join('\n')
  await mkdir(dir, { recursive: true })
  await writeFile(
    join(dir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>${project.groupId}</groupId>
  <artifactId>${project.artifactId}</artifactId>
  <version>${project.version}</version>
  <packaging>jar</packaging>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
${dependencies}
  </dependencies>
  <distributionManagement>
${distribution}
  </distributionManagement>
  <build>
    <plugins>
${plugin('maven-resources-plugin', PLUGINS.resources)}
${plugin('maven-compiler-plugin', PLUGINS.compiler)}
${plugin('maven-surefire-plugin', PLUGINS.surefire)}
${plugin('maven-jar-plugin', PLUGINS.jar)}
${plugin('maven-install-plugin', PLUGINS.install)}
${plugin('maven-deploy-plugin', PLUGINS.deploy)}
    </plugins>
  </build>
</project>
`,
  )
  for (const [path, source] of Object.entries(project.sources)) {
    const file = join(dir, 'src', 'main', 'java', path)
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, source)
  }
}

export interface MvnRun {
  readonly code: number
  /** stdout and stderr together, as a person reads them. */
  readonly output: string
}

/** Runs `mvn -B` (batch, no transfer progress) with a settings file; never throws on a failed build. */
export function runMvn(args: readonly string[], options: { cwd: string; settings: string; timeoutMs?: number }): Promise<MvnRun> {
  return new Promise((done, fail) => {
    const child = spawn('mvn', ['-B', '-ntp', '-s', options.settings, ...args], {
      cwd: options.cwd,
      env: { ...process.env, MAVEN_OPTS: '-Xmx512m' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000)
    child.on('error', fail)
    child.on('close', (code) => {
      clearTimeout(timer)
      done({ code: code ?? -1, output })
    })
  })
}

/** The last lines of a Maven log, for assertion messages. */
export function tail(output: string, lines = 40): string {
  return output.split('\n').slice(-lines).join('\n')
}
