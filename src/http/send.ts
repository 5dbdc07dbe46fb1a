import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Sender } from '../storage/storage-driver.js'

/**
 * Sends a blob body with the headers already set on `reply`. The body goes straight to the socket
 * through the driver's reused buffers (see {@link Sender}: a stream allocates one per chunk, and
 * under many concurrent downloads collecting them costs throughput), so Fastify steps aside once
 * the headers are written; a failure mid-way cuts the connection, so the client sees an error.
 */
export async function sendBody(request: FastifyRequest, reply: FastifyReply, send: Sender, context: Record<string, unknown>): Promise<void> {
  reply.hijack()
  const response = reply.raw
  response.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders)
  try {
    await send(response)
    response.end()
  } catch (err) {
    request.log.warn({ err, ...context }, 'download cut short')
    response.destroy()
  }
}
