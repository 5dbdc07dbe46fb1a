/** Who is making a request. */
export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user'
      readonly name: string
      readonly isAdmin: boolean
      /** How the user proved who they are. */
      readonly via: 'password' | 'token'
      readonly tokenId?: string
    }

export const ANONYMOUS: Principal = { kind: 'anonymous' }

export function principalName(principal: Principal): string {
  return principal.kind === 'user' ? principal.name : 'anonymous'
}

/** Actions on a repository, in DESIGN.md's vocabulary. */
export const ACTIONS = ['read', 'annotate', 'deploy', 'delete', 'manage'] as const
export type Action = (typeof ACTIONS)[number]
