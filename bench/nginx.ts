/**
 * Debian's nginx serving one file, the ceiling issue 22 compares metadata documents with: the
 * same bytes from a static web server tuned as usual (sendfile, keep-alive, no access log), its
 * default worker count (one per CPU), on 127.0.0.1.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ServerProcess, childEnv, freePort } from './processes.js'

const NGINX = '/usr/sbin/nginx'

/** nginx answering `GET /document` with `file` (as `contentType`) and 200 on `/ready`. */
export async function startNginx(workDir: string, name: string, file: string, contentType = 'application/octet-stream'): Promise<ServerProcess> {
  const dir = join(workDir, `nginx-${name}`)
  await mkdir(dir, { recursive: true })
  const port = await freePort()
  const temp = (n: string) => join(dir, n)
  await writeFile(
    temp('nginx.conf'),
    `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes auto;
daemon off;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${port};
    location = /ready { return 200 'OK'; }
    location = /document { default_type "${contentType}"; alias ${file}; }
  }
}
`,
  )
  return ServerProcess.start(`nginx-${name}`, ['-p', dir, '-c', temp('nginx.conf'), '-e', temp('error.log')], childEnv({}), port, '/ready', { command: NGINX })
}
