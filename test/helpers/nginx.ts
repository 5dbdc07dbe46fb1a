import { join } from 'node:path'

/**
 * A configuration for Debian's nginx run in the foreground from folder `dir` (pid file, error log
 * and temporary files there), with `server` (one or more `server { … }` blocks, and `http`-level
 * directives) in its `http` block.
 */
export function nginxStandaloneConfig(dir: string, server: string, options: { workers?: number | 'auto'; connections?: number } = {}): string {
  return `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes ${options.workers ?? 1};
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections ${options.connections ?? 1024}; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
${server}
}
`
}
