import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { clientCommand } from './clients.js'
import { freePort } from './ports.js'
import { createTestDatabase, POSTGRES_ADMIN_URL, type TestDatabase } from './postgres.js'
import { TEST_CREDENTIALS, type MotoServer } from './s3.js'
import { basicAuth } from './server.js'
import { TroveNode } from './trove-node.js'

export const CLUSTER_ADMIN_PASSWORD = 'cluster-admin-password'
export const CLUSTER_ADMIN_AUTH = basicAuth('admin', CLUSTER_ADMIN_PASSWORD)

/**
 * A TCP proxy on 127.0.0.1 in front of one port, that can be stopped (every connection cut, the
 * port refusing) and started again: a node behind it loses its database, and gets it back.
 */
export class TcpProxy {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()

  constructor(
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, await freePort())
    await proxy.start()
    return proxy
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host)
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.once('close', () => this.sockets.delete(socket))
        socket.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.server = server
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const socket of this.sockets) socket.destroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/**
 * Debian's nginx as a round-robin load balancer on 127.0.0.1, from a generated configuration in a
 * temporary folder (pid file, logs and temporary files there too), in the foreground. Requests
 * are streamed both ways (no request buffering, for uploads); a request that could not be sent to
 * one node (refused, reset, 502/503/504 before any answer) goes to the next, but never a
 * non-idempotent one that a node may have received (nginx's default).
 */
export class Nginx {
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly upstreamPorts: readonly number[],
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  /**
   * Marks the node on `port` down (or up again) and reloads the configuration, as an operator of
   * open-source nginx (which has no active health checks) does around a node's restart. A reload
   * is graceful: requests already sent to the node finish. Resolves once the new workers run.
   */
  async setDown(port: number, isDown: boolean): Promise<void> {
    if (isDown) this.down.add(port)
    else this.down.delete(port)
    await writeFile(join(this.dir, 'nginx.conf'), nginxConfig(this.dir, this.port, this.upstreamPorts, this.down))
    const before = await this.errorLog()
    this.child.kill('SIGHUP')
    const deadline = Date.now() + 10_000
    // nginx logs the reload's signal and its new workers' start at notice level: wait for the config to be applied.
    while (Date.now() < deadline && !(await this.errorLog()).slice(before.length).includes('reconfiguring')) await sleep(50)
    await sleep(300)
  }

  private readonly down = new Set<number>()

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  static async start(upstreamPorts: readonly number[], port?: number): Promise<Nginx> {
    const dir = await mkdtemp(join(tmpdir(), 'trove-nginx-'))
    const listen = port ?? (await freePort())
    await writeFile(join(dir, 'nginx.conf'), nginxConfig(dir, listen, upstreamPorts))
    const child = spawn(clientCommand('nginx'), ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
    let output = ''
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const nginx = new Nginx(listen, dir, upstreamPorts, child, exited)
    const deadline = Date.now() + 15_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nginx exited during start:\n${output}\n${await nginx.errorLog()}`)
      try {
        const socket = connect(listen, '127.0.0.1')
        await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
        socket.destroy()
        return nginx
      } catch {
        if (Date.now() > deadline) throw new Error(`nginx did not listen within 15 s:\n${output}`)
        await sleep(50)
      }
    }
  }

  /** Each request nginx answered: method, path, status and the node(s) it went to (`127.0.0.1:port`, comma-separated after a retry). */
  async requests(): Promise<{ method: string; path: string; status: number; upstreams: string }[]> {
    const text = await readFile(join(this.dir, 'access.log'), 'utf8').catch(() => '')
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [method = '', path = '', status = '0', ...upstreams] = line.split(' ')
        return { method, path, status: Number(status), upstreams: upstreams.join(' ') }
      })
  }

  /** nginx's error log (upstream failures and retries are logged there). */
  async errorLog(): Promise<string> {
    return readFile(join(this.dir, 'error.log'), 'utf8').catch(() => '')
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGQUIT')
    await Promise.race([this.exited, sleep(5000)])
    if (this.child.exitCode === null) this.child.kill('SIGKILL')
    await this.exited
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** The configuration docs/high-availability.md shows, with test paths and ports. */
export function nginxConfig(dir: string, port: number, upstreamPorts: readonly number[], down: ReadonlySet<number> = new Set()): string {
  const temp = (name: string) => join(dir, name)
  return `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} notice;
events { worker_connections 1024; }
http {
  log_format upstreams '$request_method $uri $status $upstream_addr';
  access_log ${temp('access.log')} upstreams;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  upstream trove {
${upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s${down.has(p) ? ' down' : ''};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://trove;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 2s;
      proxy_send_timeout 600s;
      proxy_read_timeout 600s;
    }
  }
}
`
}

export interface Cluster {
  /** The balancer's URL: what clients use. */
  readonly url: string
  readonly nodes: readonly TroveNode[]
  /** Each node's own way to PostgreSQL (stop one to cut that node off). */
  readonly databaseProxies: readonly TcpProxy[]
  readonly nginx: Nginx
  readonly database: TestDatabase
  readonly bucket: string
  close(): Promise<void>
}

/**
 * N Trove nodes on one fresh PostgreSQL database and one fresh bucket of `moto`, each reaching
 * PostgreSQL through its own {@link TcpProxy}, behind nginx; all on 127.0.0.1.
 */
export async function startCluster(moto: MotoServer, options: { nodes?: number; env?: Record<string, string> } = {}): Promise<Cluster> {
  const count = options.nodes ?? 3
  const database = await createTestDatabase()
  const bucket = await moto.createBucket()
  const postgres = new URL(POSTGRES_ADMIN_URL)
  const databaseProxies = await Promise.all(
    Array.from({ length: count }, () => TcpProxy.start({ host: postgres.hostname, port: Number(postgres.port || 5432) })),
  )
  const nginxPort = await freePort()
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()))
  const workDir = await mkdtemp(join(tmpdir(), 'trove-cluster-'))
  const nodes: TroveNode[] = []
  const nginx = await Nginx.start(ports, nginxPort)
  try {
    const envOf = async (i: number): Promise<Record<string, string>> => {
      const dataDir = join(workDir, `node${i + 1}`)
      await mkdir(dataDir, { recursive: true })
      const databaseUrl = new URL(database.url)
      databaseUrl.host = `127.0.0.1:${databaseProxies[i]!.port}`
      return {
        TROVE_DATA_DIR: dataDir,
        TROVE_ADMIN_PASSWORD: CLUSTER_ADMIN_PASSWORD,
        TROVE_DATABASE_URL: databaseUrl.toString(),
        TROVE_BLOBSTORE_URL: `s3://${bucket}/trove`,
        TROVE_BLOBSTORE_S3_ENDPOINT: moto.endpoint,
        TROVE_BLOBSTORE_S3_FORCE_PATH_STYLE: 'true',
        TROVE_BLOBSTORE_S3_PART_SIZE_BYTES: String(5 * 1024 * 1024),
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        TROVE_BASE_URL: `http://127.0.0.1:${nginxPort}`,
        TROVE_HTTP_TRUSTED_PROXIES: '127.0.0.1',
        TROVE_ALLOWED_UPSTREAM_HOSTS: '127.0.0.1',
        // Short timings, so that the faults play out within a test.
        TROVE_CLUSTER_HEARTBEAT_SECS: '1',
        TROVE_CLUSTER_NODE_TIMEOUT_SECS: '4',
        TROVE_CLUSTER_LEASE_TTL_SECS: '3',
        TROVE_CLUSTER_DRAIN_TIMEOUT_SECS: '20',
        ...options.env,
      }
    }
    // The first node migrates the database alone; the others start together.
    nodes.push(await TroveNode.start('node1', await envOf(0), { port: ports[0] }))
    nodes.push(...(await Promise.all(ports.slice(1).map(async (port, i) => TroveNode.start(`node${i + 2}`, await envOf(i + 1), { port })))))
  } catch (err) {
    for (const node of nodes) await node.kill()
    await nginx.stop()
    throw err
  }
  return {
    url: nginx.url,
    nodes,
    databaseProxies,
    nginx,
    database,
    bucket,
    async close() {
      await Promise.all(nodes.map((n) => n.kill()))
      await nginx.stop()
      for (const proxy of databaseProxies) await proxy.stop()
      await database.drop()
      await moto.deleteBucket(bucket).catch(() => {})
      await rm(workDir, { recursive: true, force: true })
    },
  }
}
