import type { Action, Authorizer, Principal, RegistryAccess, RegistryTokenService } from '../../core/index.js'
import { OciError } from './errors.js'
import { parseName, type RegistryBase } from './names.js'

/** The body of the token endpoint (Docker token specification, "Token Response Fields"). */
export interface TokenResponse {
  readonly token: string
  readonly access_token: string
  readonly expires_in: number
  readonly issued_at: string
}

/** A requested scope, `type[(class)]:name:action[,action…]`. */
export interface RequestedScope {
  readonly type: string
  readonly name: string
  readonly actions: readonly string[]
}

const REGISTRY_ACTIONS: Readonly<Record<string, Action>> = { pull: 'read', push: 'deploy', delete: 'delete' }

/**
 * Parses the `scope` parameters of a token request: each may hold several scopes separated by
 * spaces. The name sits between the first and the last colon (it may hold a `host:port`).
 */
export function parseScopes(values: readonly string[]): RequestedScope[] {
  const scopes: RequestedScope[] = []
  for (const text of values.flatMap((v) => v.split(' ')).filter((v) => v !== '')) {
    const first = text.indexOf(':')
    const last = text.lastIndexOf(':')
    if (first === -1 || last === first) throw new OciError('UNSUPPORTED', `invalid scope '${text}': expected type:name:actions`, { status: 400 })
    scopes.push({
      type: text.slice(0, first).replace(/\(.*\)$/, ''),
      name: text.slice(first + 1, last),
      actions: text.slice(last + 1).split(',').filter((a) => a !== ''),
    })
  }
  return scopes
}

/**
 * Issues a registry token for what the caller asked and may do: each requested action the
 * authorizer allows on the named image (`*` asks for pull, push and delete), the catalog for
 * signed-in users. What is not allowed is left out, not refused, as the Docker token
 * specification says: the registry answers the later request. Under
 * `/artifactory/api/docker/<repo>/v2/token` names are images of that repository.
 */
export async function issueToken(
  tokens: RegistryTokenService,
  authorizer: Authorizer,
  principal: Principal,
  base: RegistryBase,
  service: string,
  scopes: readonly RequestedScope[],
  expirySecs: number,
): Promise<TokenResponse> {
  const access: RegistryAccess[] = []
  for (const scope of scopes) {
    if (scope.type === 'registry' && scope.name === 'catalog') {
      // A registry token presented here cannot widen itself to the catalog.
      if (principal.kind === 'user' && (!principal.scope || principal.scope.catalog)) access.push({ type: 'registry', name: 'catalog', actions: ['*'] })
      continue
    }
    if (scope.type !== 'repository') continue
    let image
    try {
      image = parseName(scope.name, base.repoKey)
    } catch {
      continue // a name that cannot exist grants nothing
    }
    const wanted = new Set(scope.actions.includes('*') ? Object.keys(REGISTRY_ACTIONS) : scope.actions)
    const granted: string[] = []
    for (const action of wanted) {
      const mapped = REGISTRY_ACTIONS[action]
      if (mapped && (await authorizer.can(principal, mapped, image.repoKey, image.image))) granted.push(action)
    }
    access.push({ type: 'repository', name: `${image.repoKey}/${image.image}`, actions: granted })
  }
  // The registry token ends with the caller's credential (an access token, a session, or the
  // registry token presented here): trading one for another never extends its life.
  const issued = await tokens.issue(
    principal.kind === 'user' ? principal.name : undefined,
    service,
    access,
    principal.kind === 'user' ? { accessTokenId: principal.tokenId, notAfter: principal.expiresAt, expirySecs } : { expirySecs },
  )
  return {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresInSecs,
    issued_at: issued.issuedAt.toISOString(),
  }
}
