import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'vitest'

/**
 * A browser's cookies, enough for these flows: per host and port, by name (paths ignored: the
 * names do not collide here). Follows no redirect by itself: the tests look at each hop.
 */
export class CookieJar {
  private readonly jars = new Map<string, Map<string, string>>()

  store(url: string, res: Response): void {
    const host = new URL(url).host
    const jar = this.jars.get(host) ?? new Map<string, string>()
    this.jars.set(host, jar)
    for (const header of res.headers.getSetCookie()) {
      const pair = header.split(';')[0]!
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      if (value === '' || /max-age=0\b/i.test(header)) jar.delete(name)
      else jar.set(name, value)
    }
  }

  header(url: string): string {
    return [...(this.jars.get(new URL(url).host) ?? new Map<string, string>()).entries()].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  get(url: string, name: string): string | undefined {
    return this.jars.get(new URL(url).host)?.get(name)
  }

  delete(url: string, name: string): void {
    this.jars.get(new URL(url).host)?.delete(name)
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    const cookie = this.header(url)
    if (cookie) headers.set('cookie', cookie)
    const res = await fetch(url, { ...init, headers, redirect: 'manual' })
    this.store(url, res)
    return res
  }
}

export function locationOf(res: Response, base: string): string {
  const location = res.headers.get('location')
  expect(location, `a redirect from ${base} (status ${res.status})`).toBeTruthy()
  return new URL(location!, base).href
}

/** An HTTP server on 127.0.0.1 and a free port, its handler swappable after start. */
export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The refusal page of the sign-in callback: its status, and no session cookie. */
export async function expectRefusal(res: Response, status: number, reason: RegExp): Promise<void> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^text\/html/)
  expect(text).toMatch(reason)
  expect(res.headers.getSetCookie().some((c) => c.startsWith('trove_session='))).toBe(false)
}
