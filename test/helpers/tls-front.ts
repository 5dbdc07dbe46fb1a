/**
 * An HTTPS front for a test server: a TLS-terminating proxy on 127.0.0.1 with a self-signed
 * certificate (made by openssl for `127.0.0.1`), for clients that send credentials over https
 * only — the go command sends `.netrc` credentials, and credentials written in GOPROXY, to https
 * URLs and never over plain http. Point the client at the certificate (`SSL_CERT_FILE`).
 */
import { execFile } from 'node:child_process'
import http from 'node:http'
import https from 'node:https'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TlsFront {
  /** `https://127.0.0.1:<port>` */
  readonly url: string
  /** The PEM certificate clients must trust. */
  readonly certFile: string
  close(): Promise<void>
}

/** `target`: the server's URL, or a function giving it at each request (for a server started after its front, whose baseUrl is the front). */
export async function startTlsFront(target: string | (() => string)): Promise<TlsFront> {
  const dir = await mkdtemp(join(tmpdir(), 'trove-tls-'))
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  await new Promise<void>((resolve, reject) =>
    execFile(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
      (err) => (err ? reject(err) : resolve()),
    ),
  )
  const sockets = new Set<Socket>()
  const server = https.createServer({ cert: await readFile(certFile), key: await readFile(keyFile) }, (request, response) => {
    const upstream = new URL(typeof target === 'string' ? target : target())
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: { ...request.headers, host: upstream.host, 'x-forwarded-proto': 'https' } },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      },
    )
    forwarded.on('error', () => response.destroy())
    request.pipe(forwarded)
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://127.0.0.1:${port}`,
    certFile,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    },
  }
}
