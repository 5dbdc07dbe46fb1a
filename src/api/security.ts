/** Artifactory's users API (`/artifactory/api/security/users`) and access tokens (`/access/api/v1/tokens`). */

/** An entry of `GET /artifactory/api/security/users`. */
export interface UserSummary {
  readonly name: string
  readonly uri: string
  readonly realm: string
}

/** `GET /artifactory/api/security/users/{name}`; fields Trove does not know are kept as given. */
export interface UserBody {
  readonly name: string
  readonly email?: string
  readonly admin: boolean
  readonly disabled: boolean
  /** True for a service account (it has no password). */
  readonly internalPasswordDisabled: boolean
  readonly realm: string
  readonly [field: string]: unknown
}

/** The body of `PUT` (create or replace; a new user needs a password) and `POST` (update the fields given). */
export interface UserRequest {
  readonly email?: string
  readonly password?: string
  readonly admin?: boolean
  readonly disabled?: boolean
  readonly [field: string]: unknown
}

/** `POST /access/api/v1/tokens` (JSON or form-encoded). */
export interface TokenRequest {
  readonly description?: string
  /** Seconds; none or 0 for no expiry (within the administrator's maximum). */
  readonly expires_in?: number
  readonly scope?: string
  /** Another user's name: admins, and Project Admins for their service accounts. */
  readonly username?: string
  readonly refreshable?: boolean
  readonly grant_type?: 'client_credentials' | 'refresh_token'
  readonly refresh_token?: string
}

/** The answer to `POST /access/api/v1/tokens`: the token, shown this once. */
export interface CreatedTokenBody {
  readonly token_id: string
  readonly access_token: string
  readonly refresh_token?: string
  /** Seconds; 0 for no expiry. */
  readonly expires_in: number
  readonly scope: string
  readonly token_type: 'Bearer'
}

/** An entry of `GET /access/api/v1/tokens` (the caller's; an admin's: everyone's). */
export interface TokenInfo {
  readonly token_id: string
  readonly subject: string
  readonly description: string
  readonly scope: string
  /** Epoch seconds. */
  readonly issued_at: number
  readonly expiry?: number
  readonly last_used?: number
  readonly issuer: string
  readonly refreshable: boolean
}

export interface TokenList {
  readonly tokens: readonly TokenInfo[]
}
