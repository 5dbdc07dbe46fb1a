import { randomBytes } from 'node:crypto'
import { Agent, request } from 'undici'
import { CLUSTER_ADMIN_AUTH } from '../helpers/cluster.js'
import { download, sha256 } from './cluster-support.js'

export interface StoredFile {
  readonly path: string
  readonly sha256: string
}

/**
 * `clients` concurrent clients, each in a loop until {@link stop}: two reads of a known file (the
 * whole body, checked against its sha256) for every upload of a new one (a generic PUT). A read
 * that fails is tried once more, as package clients do; an upload is acknowledged only by its
 * 201. Everything is counted, so a test can say what a fault cost.
 */
export class MixedLoad {
  readonly acknowledged: StoredFile[] = []
  /** Reads answered 200 whose bytes were not the file's: must stay empty. */
  readonly corrupt: string[] = []
  /** Reads that failed twice in a row (status, or the error). */
  readonly failedReads: string[] = []
  /** Uploads not acknowledged (status, or the error): allowed for those in flight on a killed node only. */
  readonly failedUploads: string[] = []
  reads = 0
  private isStopped = false
  private readonly loops: Promise<void>[] = []
  private sequence = 0
  private readonly uploads = new Agent({ pipelining: 0 })

  constructor(
    private readonly base: string,
    private readonly repo: string,
    private readonly known: readonly StoredFile[],
  ) {}

  start(clients: number): void {
    for (let i = 0; i < clients; i++) this.loops.push(this.loop(i))
  }

  async stop(): Promise<void> {
    this.isStopped = true
    await Promise.all(this.loops)
    await this.uploads.close()
  }

  private async loop(client: number): Promise<void> {
    for (let turn = client; !this.isStopped; turn++) {
      if (turn % 3 === 2) await this.upload(client)
      else await this.read(this.known[(turn * 7 + client) % this.known.length]!)
    }
  }

  private async read(file: StoredFile): Promise<void> {
    let failure = ''
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // The retry goes on a connection of its own: an nginx reload closes the balancer's idle
        // client connections, and the pool may hold several of them (a retry on another stale one
        // fails between the client and the balancer, whatever the nodes do). A fresh connection
        // that fails is a failure of the cluster.
        const result = attempt === 0 ? await download(this.base, file.path) : await this.freshDownload(file.path)
        if (result.status === 200) {
          this.reads++
          if (result.sha256 !== file.sha256) this.corrupt.push(file.path)
          return
        }
        failure = `${file.path}: ${result.status}`
      } catch (err) {
        failure = `${file.path}: ${(err as Error).message}`
      }
    }
    this.failedReads.push(failure)
  }

  private async freshDownload(path: string): Promise<{ status: number; sha256: string }> {
    const connection = new Agent({ pipelining: 0 })
    try {
      const response = await request(`${this.base}/artifactory/${path}`, { headers: { authorization: CLUSTER_ADMIN_AUTH }, dispatcher: connection })
      const body = Buffer.from(await response.body.arrayBuffer())
      return { status: response.statusCode, sha256: sha256(body) }
    } finally {
      await connection.close()
    }
  }

  private async upload(client: number): Promise<void> {
    const content = randomBytes(32 * 1024 + ((client * 997 + this.sequence) % (96 * 1024)))
    const path = `${this.repo}/load/c${client}/u${this.sequence++}.bin`
    try {
      // A connection of its own per upload: an nginx reload closes idle client connections, and a
      // PUT sent on one at that moment fails between the client and the balancer, whatever the
      // nodes do (real clients retry it; a test of the nodes must not count it).
      const response = await request(`${this.base}/artifactory/${path}`, {
        method: 'PUT',
        headers: { authorization: CLUSTER_ADMIN_AUTH, 'content-type': 'application/octet-stream' },
        body: content,
        dispatcher: this.uploads,
      })
      const text = await response.body.text()
      if (response.statusCode === 201) this.acknowledged.push({ path, sha256: sha256(content) })
      else this.failedUploads.push(`${path}: ${response.statusCode} ${text.slice(0, 200)}`)
    } catch (err) {
      this.failedUploads.push(`${path}: ${(err as Error).message} ${String((err as Error).cause ?? '')}`)
    }
  }
}
