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
  /** Set with `sessionExpiresAt`: the id of the session's token (the tokens page warns before revoking it). */
  readonly sessionTokenId?: string
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
  /** The project it belongs to, if any. */
  readonly projectKey?: string
  /** The caller's roles in that project (directly and through groups); empty when none. */
  readonly projectRoles: readonly string[]
}

/** `GET /api/v1/ui/repositories/{key}/actions?path=`: what the caller may do there, so that the console offers only that. */
export interface UiRepositoryActions {
  /** Of `read`, `annotate`, `deploy`, `delete`, `manage`. */
  readonly actions: readonly string[]
}

export interface UiRepositoryList {
  readonly repositories: readonly UiRepository[]
}

/** `GET /api/v1/ui/sso-providers`: one login button each. */
export interface UiSsoProviders {
  readonly providers: readonly { readonly id: string; readonly name: string; readonly loginUrl: string }[]
}

/** A repository of a project as `GET /api/v1/ui/projects` lists it, with what it holds. */
export interface UiProjectRepository {
  readonly key: string
  readonly rclass: string
  readonly packageType: string
  readonly filesCount: number
  readonly usedSpaceInBytes: number
}

/** One entry of `GET /api/v1/ui/projects`: a project the caller belongs to (an admin: every project). */
export interface UiProject {
  readonly key: string
  readonly displayName: string
  readonly description: string
  /** -1: no quota. */
  readonly storageQuotaBytes: number
  /** What the quota is checked against (the project's counter). */
  readonly storageUsedBytes: number
  /** Usage passed the warning threshold (80%). */
  readonly storageQuotaWarning: boolean
  /** The caller's roles in it, directly and through groups (empty for an admin who is no member). */
  readonly roles: readonly string[]
  /** Whether the caller may manage its members, service accounts and their tokens. */
  readonly manageMembers: boolean
  /** Whether the caller may create and change its repositories. */
  readonly manageResources: boolean
  readonly repositories: readonly UiProjectRepository[]
}

export interface UiProjectList {
  readonly projects: readonly UiProject[]
}

/** One entry of `GET /api/v1/ui/users/{name}/sso` (admins): an identity of a single sign-on provider that signs in as this user. */
export interface UiSsoIdentity {
  readonly provider: string
  /** The provider's id of the person (OpenID Connect `sub`, a GitHub user id). */
  readonly subject: string
  readonly email: string | null
  readonly createdAt: string
  readonly lastLoginAt: string
  /** The groups this provider reported at the last sign-in. */
  readonly groups: readonly string[]
}
