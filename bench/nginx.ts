/**
 * Debian's nginx as the ceiling issue 22 compares Trove with: the same bytes from a static web
 * server tuned as usual (sendfile, keep-alive, no access log), one worker per CPU, on 127.0.0.1.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { nginxStandaloneConfig } from '../test/helpers/nginx.js'
import { ServerProcess, childEnv, freePort } from './processes.js'

const NGINX = '/usr/sbin/nginx'

/** nginx run from `dir` with `locations` (directives of its one `server` block) and 200 on `/ready`. */
export async function startStaticNginx(dir: string, name: string, locations: string): Promise<ServerProcess> {
  await mkdir(dir, { recursive: true })
  const port = await freePort()
  const server = `  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location = /ready { return 200 'OK'; }
${locations}
  }`
  await writeFile(join(dir, 'nginx.conf'), nginxStandaloneConfig(dir, server, { workers: 'auto', connections: 4096 }))
  return ServerProcess.start(name, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], childEnv({}), port, '/ready', { command: NGINX, echoStderr: false })
}

/** nginx answering `GET /document` with `file` (as `contentType`). */
export async function startNginx(workDir: string, name: string, file: string, contentType = 'application/octet-stream'): Promise<ServerProcess> {
  return startStaticNginx(join(workDir, `nginx-${name}`), `nginx-${name}`, `    location = /document { default_type "${contentType}"; alias ${file}; }`)
}
