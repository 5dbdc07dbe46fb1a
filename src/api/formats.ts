/**
 * What the console learns about the formats from the server, so that it holds no list of package
 * types: `GET /api/v1/ui/formats` (each format's title, classes, settings and console descriptor)
 * and `GET /api/v1/ui/repositories/{key}/set-me-up` (one repository's Set Me Up snippets, rendered
 * by its format). Shared by the server and the console (`web/`).
 */

/** `local`, `remote`, `virtual` or `federated`. */
export type UiRepositoryClass = 'local' | 'remote' | 'virtual' | 'federated'

/** How the console speaks of a format's content. */
export interface ConsoleDescriptor {
  /** What one package is called, singular: `image`, `package`, `chart`, `artifact`, `file`. */
  readonly packageNoun: string
  /** Short notes on how its repositories are laid out, shown where they are browsed. */
  readonly browseHints?: readonly string[]
}

/** One repository setting a format adds to Artifactory's repository JSON, as the form shows it. */
export interface UiRepositorySetting {
  /** The field name in the repository JSON (Artifactory's name where it has one). */
  readonly name: string
  readonly label: string
  /** One sentence for the form. */
  readonly help: string
  /** Classes it applies to; the server refuses it on the others. */
  readonly kinds: readonly UiRepositoryClass[]
  readonly type: 'boolean' | 'number' | 'string' | 'string-list' | 'enum'
  /** For `enum`. */
  readonly values?: readonly string[]
  readonly default?: boolean | number | string | readonly string[]
}

/** One format (package type), as the console needs it. */
export interface UiFormat {
  /** The repository JSON's `packageType`: `docker`, `npm`, `maven`, … */
  readonly id: string
  /** For people: `Docker`, `npm`, `PyPI`. */
  readonly title: string
  /** The repository classes it serves. */
  readonly kinds: readonly UiRepositoryClass[]
  readonly settings: readonly UiRepositorySetting[]
  readonly console?: ConsoleDescriptor
  /** The format reads its repositories' packages for the console (`/api/v1/ui/repositories/{key}/packages`); absent: file tree only. */
  readonly hasPackageViews?: true
}

/** `GET /api/v1/ui/formats`. */
export interface UiFormatList {
  readonly formats: readonly UiFormat[]
}

/** The token's place in rendered snippets until the console fills in one it created. */
export const TOKEN_PLACEHOLDER = '<TOKEN>'

/** What a format renders Set Me Up snippets for: one repository, one user, one address. */
export interface SetupContext {
  readonly key: string
  readonly rclass: string
  /** Where the client reaches Trove, e.g. `http://localhost:8081` (a trailing slash is ignored). */
  readonly baseUrl: string
  readonly user: string
  /** The token to write in; without it the snippets hold {@link TOKEN_PLACEHOLDER}. */
  readonly token?: string | undefined
}

/** One snippet: commands to run or a file to write. */
export interface Snippet {
  /** Stable within its format, e.g. `npmrc`, `curl-deploy`. */
  readonly id: string
  readonly title: string
  /** One line saying what it is for. */
  readonly description: string
  /** The file it goes in, when it is a file rather than commands. */
  readonly file?: string
  readonly text: string
}

/**
 * `GET /api/v1/ui/repositories/{key}/set-me-up`: the snippets for the caller, with
 * {@link TOKEN_PLACEHOLDER} where a token goes.
 */
export interface UiSetMeUp {
  /** The address the snippets use: the configured base URL, else the one the request came to. */
  readonly baseUrl: string
  /** The user name in the snippets: the caller's. */
  readonly user: string
  readonly snippets: readonly Snippet[]
}

/**
 * A rendered snippet with a token in place of {@link TOKEN_PLACEHOLDER}. Trove's tokens are
 * base64url (letters, digits, `-`, `_`), which need no escaping in a URL, XML or a shell word, so
 * the formats' escaping of a token changes nothing and a plain replacement is exact.
 */
export function withToken(snippet: Snippet, token: string): Snippet {
  return { ...snippet, text: snippet.text.split(TOKEN_PLACEHOLDER).join(token) }
}
