import { useEffect, useState, type FormEvent } from 'react'
import type { UiSsoProviders } from '../../../src/api/ui.js'
import { api, ApiError, type UiMe } from '../api.js'
import { useTitle } from '../components.js'

export function LoginPage({ onLogin }: { onLogin: (me: UiMe) => void }) {
  useTitle('Log in')
  const [user, setUser] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [isBusy, setBusy] = useState(false)
  const [providers, setProviders] = useState<UiSsoProviders['providers']>([])
  // One single sign-on button per configured provider (`sso.providers`); each is a plain link to
  // /auth/sso/<id>/login, which redirects to the provider and back into the console.
  useEffect(() => {
    api.ssoProviders().then(setProviders, () => {})
  }, [])

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      onLogin(await api.login(user.trim(), password))
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Wrong user name or password, or the account is disabled.' : (err as Error).message)
      setBusy(false)
    }
  }

  return (
    <main className="login" id="main">
      <h1>Trove</h1>
      <form onSubmit={submit} aria-describedby={error ? 'login-error' : undefined} noValidate>
        <h2>Log in</h2>
        <div className="field">
          <label htmlFor="login-user">User name</label>
          <input id="login-user" name="username" autoComplete="username" required value={user} onChange={(e) => setUser(e.target.value)} autoFocus />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input id="login-password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        {error ? (
          <p id="login-error" className="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={isBusy || user.trim() === '' || password === ''}>
          {isBusy ? 'Logging in…' : 'Log in'}
        </button>
        {providers.length > 0 ? (
          <div className="sso" aria-label="Single sign-on">
            <p>or</p>
            {providers.map((p) => (
              <a key={p.id} className="button" href={p.loginUrl}>
                Log in with {p.name}
              </a>
            ))}
          </div>
        ) : null}
        <p className="help">
          Command-line clients use an access token instead of the password: create one under Tokens or in a repository's Set Me Up once logged in.
        </p>
      </form>
    </main>
  )
}
