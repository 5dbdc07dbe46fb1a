/**
 * Bodies of the web console's own endpoints (`/api/v1/ui/*`), shared by the server and the
 * console (`web/`). Everything else the console calls is the documented REST API.
 */

/** `GET /api/v1/ui/me` and the answer to `POST /api/v1/ui/login`. */
export interface UiMe {
  readonly authenticated: boolean
  /** The user's name; `anonymous` when not authenticated. */
  readonly name: string
  readonly admin: boolean
  readonly email?: string
  /** Set when a console session cookie authenticated the request: when it ends (ISO 8601). */
  readonly sessionExpiresAt?: string
}

/** `POST /api/v1/ui/login` body. */
export interface UiLoginRequest {
  readonly user: string
  readonly password: string
}

/** One entry of `GET /api/v1/ui/repositories`: a repository the caller may read, with its usage. */
export interface UiRepository {
  readonly key: string
  /** `local`, `remote`, `virtual` or `federated`. */
  readonly rclass: string
  readonly packageType: string
  readonly description: string
  readonly url: string
  readonly anonymousRead: boolean
  readonly filesCount: number
  readonly usedSpaceInBytes: number
}

export interface UiRepositoryList {
  readonly repositories: readonly UiRepository[]
}

/** `GET /api/v1/ui/sso-providers`: one login button each. */
export interface UiSsoProviders {
  readonly providers: readonly { readonly id: string; readonly name: string; readonly loginUrl: string }[]
}
