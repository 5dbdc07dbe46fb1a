import { createContext, useContext } from 'react'
import type { ReadOnlyState, UiMe } from './api.js'

export interface Session {
  readonly me: UiMe
  readonly readOnly: ReadOnlyState | undefined
  /** After the switch changed: fetches it again so that the banner follows. */
  refreshReadOnly(): void
  signedOut(): void
}

export const SessionContext = createContext<Session | undefined>(undefined)

export function useSession(): Session {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside the signed-in console')
  return session
}
