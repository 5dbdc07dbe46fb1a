/** The single sign-on providers' settings (`sso.providers` in the configuration; docs/sso.md). */
import { z } from 'zod'

/** Names a provider in URLs (`/auth/sso/<id>/login`) and in the sign-in records. */
const SSO_PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/

const SsoProviderBase = {
  id: z.string().regex(SSO_PROVIDER_ID, 'must be 1 to 32 characters from a-z, 0-9 and -, starting with a letter or digit'),
  /** What the login button says: "Log in with <name>". */
  name: z.string().min(1).optional(),
  clientId: z.string().min(1),
  /** Also from `TROVE_SSO_<ID>_CLIENT_SECRET` (the id upper-cased, `-` as `_`), which wins. */
  clientSecret: z.string().min(1).optional(),
  /** Sign-ins by members of any of these groups make the user a Trove administrator (and leaving them takes it away); empty: the admin flag is left as an administrator set it. */
  adminGroups: z.array(z.string().min(1)).default([]),
}

export const OidcProviderSchema = z
  .object({
    ...SsoProviderBase,
    type: z.literal('oidc').default('oidc'),
    /** The issuer URL; its `/.well-known/openid-configuration` is read at the first sign-in. https, or http on a loopback host. */
    issuer: z.url({ protocol: /^https?$/ }),
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']),
    /** The claim (ID token, else userinfo) holding the user's groups; a dotted path reaches into objects (`realm_access.roles`). */
    groupsClaim: z.string().min(1).default('groups'),
    /** The claim the Trove user name comes from at the first sign-in; falls back to `email`, then to `sub`. */
    usernameClaim: z.string().min(1).default('preferred_username'),
  })
  .strict()

export const GitHubProviderSchema = z
  .object({
    ...SsoProviderBase,
    type: z.literal('github'),
    authorizeUrl: z.url({ protocol: /^https?$/ }).default('https://github.com/login/oauth/authorize'),
    tokenUrl: z.url({ protocol: /^https?$/ }).default('https://github.com/login/oauth/access_token'),
    /** The REST API root (`/user`, `/user/orgs`, `/user/teams`); GitHub Enterprise: `https://<host>/api/v3`. */
    apiUrl: z.url({ protocol: /^https?$/ }).default('https://api.github.com'),
    scopes: z.array(z.string().min(1)).default(['read:user', 'user:email', 'read:org']),
    /** Only members of one of these organisations may sign in; empty: any GitHub user. */
    allowedOrganizations: z.array(z.string().min(1)).default([]),
  })
  .strict()

export type OidcProviderConfig = z.infer<typeof OidcProviderSchema>
export type GitHubProviderConfig = z.infer<typeof GitHubProviderSchema>
export type SsoProviderConfig = OidcProviderConfig | GitHubProviderConfig
