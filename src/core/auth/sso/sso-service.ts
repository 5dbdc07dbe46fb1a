import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import * as oidc from 'openid-client'
import type { Logger } from 'pino'
import type { TroveConfig } from '../../../config/config.js'
import type { Database } from '../../../metadata/schema.js'
import type { UiSsoIdentity } from '../../../api/ui.js'
import { notFound } from '../../errors.js'
import { assertUserName } from '../user-service.js'
import { GitHubSsoProvider } from './github-sso-provider.js'
import { OidcSsoProvider } from './oidc-sso-provider.js'
import { SsoRefusedError, type SsoIdentity, type SsoProvider } from './sso-provider.js'

export interface SsoUser {
  readonly name: string
  readonly isAdmin: boolean
  readonly email: string | null
  readonly groups: readonly string[]
}

/**
 * Single sign-on: starts a sign-in at a provider (state, nonce and PKCE verifier kept in the
 * metadata store, so the callback may reach any node), and finishes it (the state is good once
 * and only in the browser that began it), creating the Trove user at the first sign-in and
 * refreshing its groups and admin flag at each one.
 *
 * Users created here have no password: they sign in through their provider and use access tokens
 * for command-line clients. Groups are kept in `sso_user_groups` (user, group, provider), replaced
 * at each sign-in through that provider.
 */
export class SsoService {
  private readonly providers: ReadonlyMap<string, SsoProvider>

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: TroveConfig['sso'],
    private readonly logger: Logger,
    /** Called after a change that may end credentials (a revoked token, a changed password, a disabled or deleted account); see Authenticator's cache. */
    private readonly credentialsChanged: () => Promise<void> = async () => {},
  ) {
    this.providers = new Map(
      config.providers.map((p): [string, SsoProvider] => [p.id, p.type === 'github' ? new GitHubSsoProvider(p) : new OidcSsoProvider(p)]),
    )
  }

  list(): { id: string; name: string }[] {
    return [...this.providers.values()].map((p) => ({ id: p.id, name: p.name }))
  }

  /**
   * Records a new sign-in and returns the provider's authorization URL. `browserSecret` is the
   * random value of the browser's sign-in cookie; `returnTo` the console path to show afterwards.
   */
  async begin(providerId: string, options: { redirectUri: string; browserSecret: string; returnTo: string }): Promise<URL> {
    const provider = this.require(providerId)
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const codeVerifier = oidc.randomPKCECodeVerifier()
    const url = await provider.authorizationUrl({
      redirectUri: options.redirectUri,
      state,
      nonce,
      codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    })
    const now = Date.now()
    // Abandoned sign-ins go with the next one begun; they are refused once expired anyway.
    await this.db.deleteFrom('sso_logins').where('expires_at', '<', now).execute()
    await this.db
      .insertInto('sso_logins')
      .values({
        state_hash: sha256(state),
        provider: provider.id,
        nonce,
        code_verifier: codeVerifier,
        browser_hash: sha256(options.browserSecret),
        redirect_uri: options.redirectUri,
        return_to: options.returnTo,
        expires_at: now + this.config.loginTimeoutSecs * 1000,
      })
      .execute()
    return url
  }

  /**
   * Finishes a sign-in from the provider's callback. Refused ({@link SsoRefusedError}): no or an
   * unknown, used or expired state, another provider's or another browser's sign-in, or whatever
   * the provider refuses (a replayed code) or the ID token fails (issuer, audience, nonce, expiry).
   */
  async complete(providerId: string, query: URLSearchParams, browserSecret: string | undefined): Promise<{ user: SsoUser; returnTo: string }> {
    const provider = this.require(providerId)
    const state = query.get('state')
    if (!state) throw new SsoRefusedError('the sign-in callback carries no state; start again from the login page', 'BAD_REQUEST')
    // Deleting is what makes a state good once, even when two callbacks race on two nodes.
    const login = await this.db.deleteFrom('sso_logins').where('state_hash', '=', sha256(state)).returningAll().executeTakeFirst()
    if (!login || login.expires_at < Date.now()) {
      throw new SsoRefusedError('this sign-in is unknown, has expired or was already used (state mismatch); start again from the login page', 'BAD_REQUEST')
    }
    if (login.provider !== provider.id) throw new SsoRefusedError(`this sign-in was begun with another provider than '${provider.id}'`, 'BAD_REQUEST')
    if (browserSecret === undefined || sha256(browserSecret) !== login.browser_hash) {
      throw new SsoRefusedError('this sign-in was begun in another browser (or its cookie is gone); start again from the login page', 'BAD_REQUEST')
    }
    // The redirect URI as sent at the start, whatever host name this request came in on.
    const callbackUrl = new URL(login.redirect_uri)
    callbackUrl.search = query.toString()
    const identity = await provider.complete({ callbackUrl, redirectUri: login.redirect_uri, state, nonce: login.nonce, codeVerifier: login.code_verifier })
    const user = await this.provision(provider, identity)
    // The sign-in may have changed the account's admin rights.
    await this.credentialsChanged()
    this.logger.info({ provider: provider.id, subject: identity.subject, user: user.name, groups: user.groups, admin: user.isAdmin }, 'single sign-on')
    return { user, returnTo: login.return_to }
  }

  /** The groups a user had at their last sign-in, through any provider. */
  async groupsOf(userName: string): Promise<string[]> {
    const rows = await this.db.selectFrom('sso_user_groups').select('group_name').distinct().where('user_name', '=', userName).orderBy('group_name').execute()
    return rows.map((r) => r.group_name)
  }

  /** The identities that sign in as a user, with the groups each provider reported at the last sign-in. */
  async identitiesOf(userName: string): Promise<UiSsoIdentity[]> {
    const [identities, groups] = await Promise.all([
      this.db.selectFrom('sso_identities').selectAll().where('user_name', '=', userName).orderBy('provider').orderBy('subject').execute(),
      this.db.selectFrom('sso_user_groups').select(['provider', 'group_name']).where('user_name', '=', userName).orderBy('group_name').execute(),
    ])
    return identities.map((i) => ({
      provider: i.provider,
      subject: i.subject,
      email: i.email,
      createdAt: new Date(Number(i.created_at)).toISOString(),
      lastLoginAt: new Date(Number(i.last_login_at)).toISOString(),
      groups: groups.filter((g) => g.provider === i.provider).map((g) => g.group_name),
    }))
  }

  private async provision(provider: SsoProvider, identity: SsoIdentity): Promise<SsoUser> {
    const now = Date.now()
    const isAdmin = provider.adminGroups.length > 0 ? identity.groups.some((g) => provider.adminGroups.includes(g)) : undefined
    return this.db.transaction().execute(async (trx) => {
      const link = await trx
        .selectFrom('sso_identities')
        .select('user_name')
        .where('provider', '=', provider.id)
        .where('subject', '=', identity.subject)
        .executeTakeFirst()
      let name = link?.user_name
      if (name === undefined) {
        name = identity.nameCandidates.find(isUserName)
        if (name === undefined) throw new SsoRefusedError(`${provider.name} gave no usable user name (tried ${identity.nameCandidates.join(', ')})`, 'DENIED')
        // A sign-in never takes over an account it did not create: a provider's "admin" is not Trove's.
        const taken = await trx.selectFrom('users').select('name').where('name', '=', name).executeTakeFirst()
        if (taken) {
          throw new SsoRefusedError(
            `a Trove user named '${name}' already exists and is not linked to ${provider.name}; an administrator must rename or remove that user first`,
            'DENIED',
          )
        }
        await trx
          .insertInto('users')
          .values({
            name,
            email: identity.email ?? null,
            password_hash: null,
            is_admin: isAdmin ? 1 : 0,
            is_disabled: 0,
            attributes: JSON.stringify({ realm: `sso:${provider.id}` }),
            created_at: now,
            updated_at: now,
          })
          .execute()
        await trx
          .insertInto('sso_identities')
          .values({ provider: provider.id, subject: identity.subject, user_name: name, email: identity.email ?? null, created_at: now, last_login_at: now })
          .execute()
      } else {
        await trx
          .updateTable('sso_identities')
          .set({ last_login_at: now, email: identity.email ?? null })
          .where('provider', '=', provider.id)
          .where('subject', '=', identity.subject)
          .execute()
      }
      const user = await trx.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirstOrThrow()
      if (user.is_disabled) throw new SsoRefusedError(`the Trove user '${name}' is disabled`, 'DENIED')
      const changes: { updated_at: number; is_admin?: number; email?: string } = { updated_at: now }
      if (isAdmin !== undefined) changes.is_admin = isAdmin ? 1 : 0
      if (identity.email && !user.email) changes.email = identity.email
      await trx.updateTable('users').set(changes).where('name', '=', name).execute()
      await trx.deleteFrom('sso_user_groups').where('user_name', '=', name).where('provider', '=', provider.id).execute()
      if (identity.groups.length > 0) {
        await trx
          .insertInto('sso_user_groups')
          .values(identity.groups.map((group_name) => ({ user_name: name, group_name, provider: provider.id })))
          .execute()
      }
      return { name, isAdmin: (changes.is_admin ?? user.is_admin) === 1, email: changes.email ?? user.email, groups: identity.groups }
    })
  }

  private require(providerId: string): SsoProvider {
    const provider = this.providers.get(providerId)
    if (!provider) throw notFound(`no single sign-on provider '${providerId}' is configured`)
    return provider
  }
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

function isUserName(name: string): boolean {
  try {
    assertUserName(name)
    return true
  } catch {
    return false
  }
}
