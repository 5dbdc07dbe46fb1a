import { TOKEN_PLACEHOLDER, type SetupContext } from '../api/formats.js'

/**
 * Building blocks of the formats' Set Me Up snippets (`<format>/set-me-up.ts`): what every
 * format derives from the context, and the lines more than one format writes.
 */
export interface SetupTarget {
  readonly key: string
  readonly rclass: string
  readonly user: string
  /** Without a trailing slash: `http://localhost:8081`. */
  readonly baseUrl: string
  /** The token, or {@link TOKEN_PLACEHOLDER}. */
  readonly secret: string
  /** `localhost:8081` */
  readonly host: string
  /** `localhost` */
  readonly hostname: string
  readonly isPlainHttp: boolean
  /** Pushes are accepted: local and federated, and virtual through its deployment repository. */
  readonly canPush: boolean
}

export function setupTarget(context: SetupContext): SetupTarget {
  const url = new URL(context.baseUrl)
  return {
    key: context.key,
    rclass: context.rclass,
    user: context.user,
    baseUrl: context.baseUrl.replace(/\/+$/, ''),
    secret: context.token ?? TOKEN_PLACEHOLDER,
    host: url.host,
    hostname: url.hostname,
    isPlainHttp: url.protocol === 'http:',
    canPush: context.rclass !== 'remote',
  }
}

/**
 * The secret escaped for where it goes (a URL, XML). The placeholder stays as it is, so that it
 * is easy to spot and to replace (src/api/formats.ts `withToken`).
 */
export function escapedSecret(target: SetupTarget, escape: (text: string) => string): string {
  return target.secret === TOKEN_PLACEHOLDER ? target.secret : escape(target.secret)
}

/** curl's credentials option. */
export function curlCredentials(target: SetupTarget): string {
  return `-u ${target.user}:${target.secret}`
}

/**
 * A curl upload of a file of the current folder to a URL of the plain layout (generic files, Helm
 * charts); with `checksum`, the SHA-256 header that makes Trove verify what it received.
 */
export function curlUpload(target: SetupTarget, file: string, url: string, options: { readonly checksum?: boolean } = {}): string {
  if (!options.checksum) return `curl ${curlCredentials(target)} -T ${file} "${url}"`
  return [`curl ${curlCredentials(target)} -T ${file} \\`, `     -H "X-Checksum-Sha256: $(sha256sum ${file} | cut -d' ' -f1)" \\`, `     "${url}"`].join('\n')
}

/** Text for an XML element's content. */
export function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
