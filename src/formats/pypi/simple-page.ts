/**
 * The simple repository API's documents: project pages and the project list, in HTML (PEP 503)
 * and JSON (PEP 691), and the reading of an upstream's pages of either kind.
 */

export const JSON_TYPE = 'application/vnd.pypi.simple.v1+json'
export const HTML_TYPE = 'application/vnd.pypi.simple.v1+html'

export type PageFormat = 'json' | 'html'

/** One file of a project page. */
export interface IndexFile {
  readonly filename: string
  /** As written in the page: relative to the page (Trove's own) or absolute (an upstream's). */
  readonly url: string
  readonly version?: string | undefined
  readonly sha256?: string | undefined
  readonly requiresPython?: string | undefined
  /** PEP 592: yanked, with its reason ('' when none was given). */
  readonly yanked?: string | undefined
  /** PEP 658/714: the core metadata is served at `<url>.metadata`, with this hash when known. */
  readonly coreMetadata?: { readonly sha256?: string | undefined } | undefined
  readonly size?: number | undefined
  readonly uploadTime?: number | undefined
}

export interface ProjectPage {
  readonly name: string
  readonly files: readonly IndexFile[]
}

/**
 * Picks the representation from `Accept` (PEP 691 content negotiation): the JSON one when the
 * client rates it highest, HTML otherwise (also without `Accept`, and for browsers).
 */
export function negotiate(accept: string | undefined): PageFormat {
  if (!accept) return 'html'
  let json = -1
  let html = -1
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';')
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const q = qParam ? Number(qParam.slice(2)) : 1
    if (!Number.isFinite(q) || q <= 0) continue
    if (type === JSON_TYPE || type === 'application/vnd.pypi.simple.latest+json') json = Math.max(json, q)
    else if (type === HTML_TYPE || type === 'application/vnd.pypi.simple.latest+html' || type === 'text/html' || type === '*/*') html = Math.max(html, q)
  }
  return json > html ? 'json' : 'html'
}

export function contentTypeOf(format: PageFormat): string {
  return format === 'json' ? JSON_TYPE : `${HTML_TYPE}; charset=utf-8`
}

export function renderProjectPage(page: ProjectPage, format: PageFormat): string {
  return format === 'json' ? renderProjectJson(page) : renderProjectHtml(page)
}

function renderProjectHtml(page: ProjectPage): string {
  const links = page.files.map((file) => {
    const href = file.sha256 ? `${file.url}#sha256=${file.sha256}` : file.url
    let attributes = `href="${escapeHtml(href)}"`
    if (file.requiresPython) attributes += ` data-requires-python="${escapeHtml(file.requiresPython)}"`
    if (file.coreMetadata) {
      // PEP 714's name only: pip 22.3 to 23.0 read PEP 658's `data-dist-info-metadata` but then
      // refuse a project whose METADATA spells its name otherwise than the requirement
      // ('inconsistent Name'); without it they download the wheel, which always works.
      attributes += ` data-core-metadata="${file.coreMetadata.sha256 ? `sha256=${file.coreMetadata.sha256}` : 'true'}"`
    }
    if (file.yanked !== undefined) attributes += ` data-yanked="${escapeHtml(file.yanked)}"`
    return `    <a ${attributes}>${escapeHtml(file.filename)}</a><br />`
  })
  const title = `Links for ${escapeHtml(page.name)}`
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    '    <meta name="pypi:repository-version" content="1.1">',
    `    <title>${title}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>${title}</h1>`,
    ...links,
    '  </body>',
    '</html>',
    '',
  ].join('\n')
}

function renderProjectJson(page: ProjectPage): string {
  const hasSizes = page.files.every((f) => f.size !== undefined)
  const files = page.files.map((file) => ({
    filename: file.filename,
    url: file.url,
    hashes: file.sha256 ? { sha256: file.sha256 } : {},
    ...(file.requiresPython ? { 'requires-python': file.requiresPython } : {}),
    // PEP 714: JSON says only `core-metadata`; pip 23.0 fails on a `dist-info-metadata` object.
    ...(file.coreMetadata ? { 'core-metadata': file.coreMetadata.sha256 ? { sha256: file.coreMetadata.sha256 } : true } : {}),
    yanked: file.yanked === undefined ? false : file.yanked === '' ? true : file.yanked,
    ...(hasSizes ? { size: file.size } : {}),
    ...(file.uploadTime !== undefined ? { 'upload-time': new Date(file.uploadTime).toISOString() } : {}),
  }))
  // PEP 700 (API 1.1) makes `versions` and each file's `size` part of the page.
  const versions = [...new Set(page.files.flatMap((f) => (f.version ? [f.version] : [])))]
  return JSON.stringify(
    hasSizes
      ? { meta: { 'api-version': '1.1' }, name: page.name, versions, files }
      : { meta: { 'api-version': '1.0' }, name: page.name, files },
  )
}

/** The project list (`simple/`): `names` normalised, links relative to `simple/`. */
export function renderProjectList(names: readonly string[], format: PageFormat): string {
  if (format === 'json') return JSON.stringify({ meta: { 'api-version': '1.0' }, projects: names.map((name) => ({ name })) })
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    '    <meta name="pypi:repository-version" content="1.1">',
    '    <title>Simple index</title>',
    '  </head>',
    '  <body>',
    ...names.map((name) => `    <a href="${escapeHtml(encodeURIComponent(name))}/">${escapeHtml(name)}</a><br />`),
    '  </body>',
    '</html>',
    '',
  ].join('\n')
}

/**
 * Reads an upstream's project page (JSON when its content type says so, else HTML) into files
 * with absolute URLs. Entries that cannot be used (no URL, a name that is not a distribution's)
 * are left out; `pageUrl` resolves relative links, as a client would.
 */
export function parseProjectPage(body: string, contentType: string, pageUrl: string, name: string): ProjectPage {
  const isJson = /json/i.test(contentType) || body.trimStart().startsWith('{')
  return { name, files: isJson ? parseJsonPage(body, pageUrl) : parseHtmlPage(body, pageUrl) }
}

function parseJsonPage(body: string, pageUrl: string): IndexFile[] {
  const document = JSON.parse(body) as { files?: unknown }
  if (!Array.isArray(document.files)) throw new Error('the JSON page has no "files" list')
  const files: IndexFile[] = []
  for (const raw of document.files as unknown[]) {
    if (typeof raw !== 'object' || raw === null) continue
    const file = raw as Record<string, unknown>
    if (typeof file.url !== 'string') continue
    const url = absolute(file.url, pageUrl)
    if (!url) continue
    const hashes = typeof file.hashes === 'object' && file.hashes !== null ? (file.hashes as Record<string, unknown>) : {}
    const metadata = file['core-metadata'] ?? file['dist-info-metadata']
    files.push({
      filename: typeof file.filename === 'string' ? file.filename : filenameOf(url),
      url,
      sha256: sha256Of(hashes.sha256),
      requiresPython: typeof file['requires-python'] === 'string' ? file['requires-python'] : undefined,
      // PEP 691: `true` or a (non-empty) reason; anything else is not yanked.
      yanked: file.yanked === true ? '' : typeof file.yanked === 'string' && file.yanked !== '' ? file.yanked : undefined,
      coreMetadata:
        metadata === true
          ? {}
          : typeof metadata === 'object' && metadata !== null
            ? { sha256: sha256Of((metadata as Record<string, unknown>).sha256) }
            : undefined,
      size: typeof file.size === 'number' ? file.size : undefined,
    })
  }
  return files
}

function parseHtmlPage(body: string, pageUrl: string): IndexFile[] {
  const base = /<base\s[^>]*href\s*=\s*("([^"]*)"|'([^']*)')/i.exec(body)
  const baseUrl = base ? (absolute(unescapeHtml(base[2] ?? base[3] ?? ''), pageUrl) ?? pageUrl) : pageUrl
  const files: IndexFile[] = []
  for (const anchor of body.matchAll(/<a\s([^>]*)>/gi)) {
    const attributes = parseAttributes(anchor[1]!)
    const href = attributes.get('href')
    if (!href) continue
    const url = absolute(href, baseUrl)
    if (!url) continue
    const parsed = new URL(url)
    const fragment = /^#sha256=([a-f0-9]{64})$/i.exec(parsed.hash)
    parsed.hash = ''
    const metadata = attributes.get('data-core-metadata') ?? attributes.get('data-dist-info-metadata')
    const metadataHash = metadata ? /^sha256=([a-f0-9]{64})$/i.exec(metadata) : null
    files.push({
      filename: filenameOf(parsed.toString()),
      url: parsed.toString(),
      sha256: fragment ? fragment[1]!.toLowerCase() : undefined,
      requiresPython: attributes.get('data-requires-python') || undefined,
      yanked: attributes.get('data-yanked'),
      coreMetadata: metadata === undefined ? undefined : metadataHash ? { sha256: metadataHash[1]!.toLowerCase() } : {},
    })
  }
  return files
}

function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>()
  for (const match of text.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    attributes.set(match[1]!.toLowerCase(), unescapeHtml(match[2] ?? match[3] ?? match[4] ?? ''))
  }
  return attributes
}

function absolute(url: string, base: string): string | undefined {
  try {
    const resolved = new URL(url, base)
    return resolved.protocol === 'http:' || resolved.protocol === 'https:' ? resolved.toString() : undefined
  } catch {
    return undefined
  }
}

function filenameOf(url: string): string {
  const path = new URL(url).pathname
  try {
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1))
  } catch {
    return path.slice(path.lastIndexOf('/') + 1)
  }
}

function sha256Of(value: unknown): string | undefined {
  return typeof value === 'string' && /^[a-f0-9]{64}$/i.test(value) ? value.toLowerCase() : undefined
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (_, entity: string) => {
    const e = entity.toLowerCase()
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16))
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10))
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e] ?? `&${entity};`
  })
}
