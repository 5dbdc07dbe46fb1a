/**
 * The baseline: the least a Node server can do to send a file (node:http + fs.createReadStream,
 * default buffer sizes, no framework). Run as its own process by bench/run.ts:
 *
 *   node --import tsx bench/static-file-server.ts <file> <port> [memory]
 *
 * Serves `<file>` for every GET, and 200 on `/ready`. With `memory`, the file is read once at
 * start and every answer is that buffer (the ceiling for small documents, such as packuments).
 */
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { pipeline } from 'node:stream/promises'

const [file, port, mode] = process.argv.slice(2)
if (!file || !port) {
  process.stderr.write('usage: static-file-server.ts <file> <port>\n')
  process.exit(2)
}
const { size } = await stat(file)
const bytes = mode === 'memory' ? await readFile(file) : undefined

const server = createServer((request, response) => {
  if (request.url === '/ready') {
    response.end('OK')
    return
  }
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
  if (bytes) {
    response.end(bytes)
    return
  }
  pipeline(createReadStream(file), response).catch(() => {
    // A client that goes away mid-body is not the baseline's problem.
  })
})
server.listen(Number(port), '127.0.0.1')
process.on('SIGTERM', () => server.close(() => process.exit(0)))
