/**
 * Download offload to the reverse proxy (`blobstore.offload: x-accel-redirect`): Trove authorizes
 * and counts a download, then answers with `X-Accel-Redirect` to an internal location, and nginx
 * (Debian's, on 127.0.0.1, configured as docs/storage.md shows) sends the file, ranges included.
 * Clients never see the header, and the internal location cannot be fetched from outside.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientCommand, requireClients } from '../helpers/clients.js'
import { nginxStandaloneConfig } from '../helpers/nginx.js'
import { freePort } from '../helpers/ports.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const hasNginx = await requireClients('the proxy offload test', ['nginx'])
const REPO = 'offload-local'
const IMAGE = 'offload-docker/app'

describe('downloads sent by nginx (X-Accel-Redirect)', () => {
  let server: TestServer
  let nginx: { url: string; dir: string; child: ChildProcess }
  const content = randomBytes(3 * 1024 * 1024 + 11)
  const hex = createHash('sha256').update(content).digest('hex')

  beforeAll(async () => {
    if (!hasNginx) return
    server = await startTestServer({ settings: { blobstore: { offload: 'x-accel-redirect' } } })
    for (const [key, packageType] of [
      [REPO, 'generic'],
      ['offload-docker', 'docker'],
    ] as const) {
      const created = await fetch(`${server.url}/artifactory/api/repositories/${key}`, {
        method: 'PUT',
        headers: { authorization: server.adminAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ rclass: 'local', packageType }),
      })
      expect(created.status).toBeLessThan(300)
    }
    const deployed = await fetch(`${server.url}/artifactory/${REPO}/dir/file.bin`, { method: 'PUT', headers: { authorization: server.adminAuth }, body: content })
    expect(deployed.status).toBe(201)
    nginx = await startNginx(new URL(server.url).port, server.dataDir)
  }, 60_000)

  afterAll(async () => {
    if (nginx) {
      nginx.child.kill('SIGQUIT')
      await Promise.race([new Promise((resolve) => nginx.child.once('exit', resolve)), sleep(5000)])
      nginx.child.kill('SIGKILL')
      await rm(nginx.dir, { recursive: true, force: true })
    }
    await server?.close()
  })

  if (hasNginx) {
    it('Trove answers an authorized download with the header and no body; nginx sends the bytes, and ranges', async () => {
      const direct = await fetch(`${server.url}/artifactory/${REPO}/dir/file.bin`, { headers: { authorization: server.adminAuth } })
      expect(direct.status).toBe(200)
      expect(direct.headers.get('x-accel-redirect')).toBe(`/_trove_blobs/blobs/sha256/${hex.slice(0, 2)}/${hex}`)
      expect((await direct.arrayBuffer()).byteLength).toBe(0)

      const whole = await fetch(`${nginx.url}/artifactory/${REPO}/dir/file.bin`, { headers: { authorization: server.adminAuth } })
      expect(whole.status).toBe(200)
      expect(whole.headers.get('x-accel-redirect')).toBeNull()
      expect(whole.headers.get('x-checksum-sha256')).toBe(hex)
      expect(whole.headers.get('content-security-policy')).toBe(direct.headers.get('content-security-policy'))
      expect(whole.headers.get('x-content-type-options')).toBe('nosniff')
      expect(Buffer.from(await whole.arrayBuffer()).equals(content)).toBe(true)

      const part = await fetch(`${nginx.url}/artifactory/${REPO}/dir/file.bin`, { headers: { authorization: server.adminAuth, range: 'bytes=10-19' } })
      expect(part.status).toBe(206)
      expect(part.headers.get('content-range')).toBe(`bytes 10-19/${content.length}`)
      expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(10, 20))).toBe(true)
    })

    it('refuses an unauthorized or missing download itself, and nginx keeps the internal location internal', async () => {
      const anonymous = await fetch(`${nginx.url}/artifactory/${REPO}/dir/file.bin`)
      expect(anonymous.status).toBe(401)
      expect(Buffer.from(await anonymous.arrayBuffer()).includes(content.subarray(0, 64))).toBe(false)
      const missing = await fetch(`${nginx.url}/artifactory/${REPO}/dir/missing.bin`, { headers: { authorization: server.adminAuth } })
      expect(missing.status).toBe(404)
      await missing.arrayBuffer()
      const internal = await fetch(`${nginx.url}/_trove_blobs/blobs/sha256/${hex.slice(0, 2)}/${hex}`)
      expect(internal.status).toBe(404)
      await internal.arrayBuffer()
    })

    it('sends an OCI blob pulled through nginx, byte for byte', async () => {
      const started = await fetch(`${nginx.url}/v2/${IMAGE}/blobs/uploads/`, { method: 'POST', headers: { authorization: server.adminAuth } })
      expect(started.status).toBe(202)
      const location = new URL(started.headers.get('location')!, nginx.url)
      location.searchParams.set('digest', `sha256:${hex}`)
      const pushed = await fetch(location, { method: 'PUT', headers: { authorization: server.adminAuth, 'content-type': 'application/octet-stream' }, body: content })
      expect(pushed.status).toBe(201)
      const pulled = await fetch(`${nginx.url}/v2/${IMAGE}/blobs/sha256:${hex}`, { headers: { authorization: server.adminAuth } })
      expect(pulled.status).toBe(200)
      expect(pulled.headers.get('docker-content-digest')).toBe(`sha256:${hex}`)
      expect(createHash('sha256').update(Buffer.from(await pulled.arrayBuffer())).digest('hex')).toBe(hex)
    })
  }
})

/** nginx in front of Trove on `trovePort`, with the internal location of docs/storage.md over `blobRoot`. */
async function startNginx(trovePort: string, blobRoot: string): Promise<{ url: string; dir: string; child: ChildProcess }> {
  const dir = await mkdtemp(join(tmpdir(), 'trove-offload-nginx-'))
  const port = await freePort()
  await writeFile(
    join(dir, 'nginx.conf'),
    nginxStandaloneConfig(
      dir,
      `  sendfile on;
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:${trovePort};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
    }
    location /_trove_blobs/ {
      internal;
      alias ${blobRoot}/;
      # nginx drops the answer's other headers on an internal redirect: these carry Trove's over.
      add_header X-Content-Type-Options $upstream_http_x_content_type_options always;
      add_header Content-Security-Policy $upstream_http_content_security_policy always;
      add_header X-Checksum-Sha256 $upstream_http_x_checksum_sha256 always;
      add_header X-Checksum-Sha1 $upstream_http_x_checksum_sha1 always;
      add_header X-Checksum-Md5 $upstream_http_x_checksum_md5 always;
      add_header Docker-Content-Digest $upstream_http_docker_content_digest always;
      add_header X-Artifactory-Filename $upstream_http_x_artifactory_filename always;
    }
  }`,
      { connections: 64 },
    ),
  )
  const child = spawn(clientCommand('nginx'), ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' })
  for (let attempt = 0; attempt < 150; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}); see ${dir}/error.log`)
    const isListening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve(true))).once('error', () => resolve(false))
    })
    if (isListening) return { url: `http://127.0.0.1:${port}`, dir, child }
    await sleep(100)
  }
  throw new Error('nginx did not listen within 15 s')
}
