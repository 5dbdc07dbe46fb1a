import { useContext, type FormHTMLAttributes, type ReactNode } from 'react'
import { api, type ReadOnlyState } from './api.js'
import { useAsync } from './components.js'
import { SessionContext } from './session.js'

/** The read-only banner: on every page, the login page included (where it reads the public state itself). */
export function ReadOnlyBanner({ state }: { state?: ReadOnlyState | undefined }) {
  const session = useContext(SessionContext)
  const own = useAsync(async () => (session || state ? undefined : api.readOnly()), [session, state])
  const shown = state ?? session?.readOnly ?? own.value
  if (!shown?.enabled) return null
  return (
    <div className="banner" role="status" data-testid="read-only-banner">
      <strong>Read-only mode:</strong> {shown.message || 'Trove refuses every change until an administrator switches it off.'}
      {session ? null : ' You can still log in and look around.'}
    </div>
  )
}

/** Whether Trove refuses writes now (read-only mode), as the session last read it. */
export function useIsReadOnly(): boolean {
  return useContext(SessionContext)?.readOnly?.enabled === true
}

/**
 * A form that changes something: while Trove is read-only its controls are disabled up front
 * (one fieldset), with a line saying why, instead of a refusal after submitting.
 */
export function WriteForm({ children, ...props }: FormHTMLAttributes<HTMLFormElement> & { children: ReactNode }) {
  const isReadOnly = useIsReadOnly()
  return (
    <form {...props} data-read-only={isReadOnly || undefined}>
      {isReadOnly ? (
        <p className="muted read-only-note" data-testid="read-only-note">
          Trove is read-only: this form is disabled until an administrator switches read-only mode off.
        </p>
      ) : null}
      <fieldset className="plain" disabled={isReadOnly}>
        {children}
      </fieldset>
    </form>
  )
}
