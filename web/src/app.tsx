import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react'
import { api, setUnauthorizedHandler, type ReadOnlyState, type UiMe } from './api.js'
import { ErrorMessage, Loading } from './components.js'
import { checksumKind } from './format.js'
import { AdminRepositoriesPage, RepositoryFormPage } from './pages/admin-repositories.js'
import { AdminSystemPage } from './pages/admin-system.js'
import { AdminUsersPage, UserFormPage } from './pages/admin-users.js'
import { AdminGroupsPage, GroupFormPage } from './pages/admin-groups.js'
import { AdminPermissionsPage, PermissionFormPage } from './pages/admin-permissions.js'
import { BrowsePage } from './pages/browse.js'
import { LoginPage } from './pages/login.js'
import { MaintenanceBanner } from './maintenance-banner.js'
import { ReadOnlyBanner } from './read-only.js'
import { AuditPage, MaintenancePage, WebhooksPage } from './pages/operations-admin.js'
import { AdminRequestsPage, RequestsPage } from './pages/requests.js'
import { RepositoriesPage } from './pages/repositories.js'
import { ProjectPage, ProjectsPage } from './pages/projects.js'
import { PackagePage, PackagesPage } from './pages/packages.js'
import { PackageVersionPage } from './pages/package-version.js'
import { SearchPage } from './pages/search.js'
import { SetMeUpPage } from './pages/set-me-up.js'
import { TokensPage } from './pages/tokens.js'
import { Link, navigate, segments, useLocation } from './router.js'
import { SessionContext, useSession, type Session } from './session.js'

const READ_ONLY_POLL_MS = 30_000

export function App() {
  const [me, setMe] = useState<UiMe | undefined>()
  const [error, setError] = useState<Error | undefined>()
  const { path } = useLocation()

  const loadMe = useCallback(() => {
    setError(undefined)
    api.me().then(setMe, setError)
  }, [])
  useEffect(loadMe, [loadMe])
  useEffect(() => setUnauthorizedHandler(() => setMe({ authenticated: false, name: 'anonymous', admin: false })), [])

  if (error) {
    return (
      <main className="centered">
        <ErrorMessage error={error} />
        <button type="button" onClick={loadMe}>
          Try again
        </button>
      </main>
    )
  }
  if (!me) return <Loading label="Starting the console…" />
  if (!me.authenticated) {
    return (
      <>
        <MaintenanceBanner />
        <ReadOnlyBanner />
        <LoginPage
          onLogin={(who) => {
            setMe(who)
            if (path === '/login') navigate('/', { replace: true })
          }}
        />
      </>
    )
  }
  return <SignedIn me={me} onSignedOut={() => setMe({ authenticated: false, name: 'anonymous', admin: false })} />
}

function SignedIn({ me, onSignedOut }: { me: UiMe; onSignedOut: () => void }) {
  const [readOnly, setReadOnly] = useState<ReadOnlyState | undefined>()
  const refreshReadOnly = useCallback(() => {
    api.readOnly().then(setReadOnly, () => {})
  }, [])
  useEffect(() => {
    refreshReadOnly()
    const timer = setInterval(refreshReadOnly, READ_ONLY_POLL_MS)
    return () => clearInterval(timer)
  }, [refreshReadOnly])
  const session: Session = { me, readOnly, refreshReadOnly, signedOut: onSignedOut }
  return (
    <SessionContext.Provider value={session}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <MaintenanceBanner />
      <ReadOnlyBanner state={readOnly} />
      <main id="main">
        <Routes />
      </main>
    </SessionContext.Provider>
  )
}

function Header() {
  const { me, signedOut } = useSession()
  const { path } = useLocation()
  const [query, setQuery] = useState('')
  const [isLoggingOut, setLoggingOut] = useState(false)
  const search = (event: FormEvent) => {
    event.preventDefault()
    const text = query.trim()
    if (!text) return
    const kind = checksumKind(text)
    navigate(kind ? `/search?checksum=${encodeURIComponent(text)}` : `/search?name=${encodeURIComponent(text.includes('*') || text.includes('?') ? text : `*${text}*`)}`)
  }
  const logout = async () => {
    setLoggingOut(true)
    try {
      await api.logout()
    } finally {
      setLoggingOut(false)
      navigate('/', { replace: true })
      signedOut()
    }
  }
  const current = (prefix: string) => (prefix === '/' ? path === '/' || path.startsWith('/repositories') || path.startsWith('/packages') || path.startsWith('/setup') : path.startsWith(prefix)) ? 'page' : undefined
  return (
    <header className="top">
      <Link to="/" className="brand">
        Trove
      </Link>
      <nav aria-label="Main">
        <ul>
          <li>
            <Link to="/" aria-current={current('/')}>
              Repositories
            </Link>
          </li>
          <li>
            <Link to="/projects" aria-current={current('/projects')}>
              Projects
            </Link>
          </li>
          <li>
            <Link to="/search" aria-current={current('/search')}>
              Search
            </Link>
          </li>
          <li>
            <Link to="/tokens" aria-current={current('/tokens')}>
              Tokens
            </Link>
          </li>
          <li>
            <Link to="/requests" aria-current={current('/requests')}>
              Requests
            </Link>
          </li>
          {me.admin ? null : (
            <li>
              <Link to="/audit" aria-current={current('/audit')}>
                Audit
              </Link>
            </li>
          )}
          {me.admin ? (
            <>
              <li>
                <Link to="/admin/repositories" aria-current={current('/admin/repositories')}>
                  Manage repositories
                </Link>
              </li>
              <li>
                <Link to="/admin/users" aria-current={current('/admin/users')}>
                  Users
                </Link>
              </li>
              <li>
                <Link to="/admin/groups" aria-current={current('/admin/groups')}>
                  Groups
                </Link>
              </li>
              <li>
                <Link to="/admin/permissions" aria-current={current('/admin/permissions')}>
                  Permission targets
                </Link>
              </li>
              <li>
                <Link to="/admin/system" aria-current={current('/admin/system')}>
                  System
                </Link>
              </li>
              <li>
                <Link to="/admin/operations" aria-current={current('/admin/operations')}>
                  Operations
                </Link>
              </li>
            </>
          ) : null}
        </ul>
      </nav>
      <form className="quick-search" role="search" onSubmit={search}>
        <label htmlFor="quick-search" className="visually-hidden">
          Quick search by name or checksum
        </label>
        <input id="quick-search" type="search" placeholder="Name or checksum" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      <div className="user">
        <span title={me.sessionExpiresAt ? `Session until ${new Date(me.sessionExpiresAt).toLocaleString()}` : undefined}>
          {me.name}
          {me.admin ? ' (admin)' : ''}
        </span>
        <button type="button" onClick={logout} disabled={isLoggingOut}>
          Log out
        </button>
      </div>
    </header>
  )
}

function Routes() {
  const { path, query } = useLocation()
  const { me } = useSession()
  const main = useRef<string>('')
  // Moves focus to the new page's heading, so keyboard and screen-reader users land on it.
  useEffect(() => {
    if (main.current === path) return
    const first = main.current === ''
    main.current = path
    if (first) return
    requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true }))
  }, [path])

  if (path === '/' || path === '/login') return <RepositoriesPage />
  if (path.startsWith('/repositories/')) {
    const [, key = '', itemPath = ''] = segments(path, 2)
    return <BrowsePage key={key} repoKey={key} path={itemPath} />
  }
  if (path.startsWith('/packages/')) {
    const [, key = '', view = ''] = segments(path, 2)
    const name = query.get('name') ?? ''
    if (view === 'version') return <PackageVersionPage key={`${key} ${name} ${query.get('version')}`} repoKey={key} name={name} version={query.get('version') ?? ''} />
    if (view === 'package') return <PackagePage key={`${key} ${name}`} repoKey={key} name={name} />
    return <PackagesPage key={key} repoKey={key} />
  }
  if (path.startsWith('/setup/')) {
    const [, key = ''] = segments(path, 2)
    return <SetMeUpPage key={key} repoKey={key} />
  }
  if (path === '/projects') return <ProjectsPage />
  if (path.startsWith('/projects/')) {
    const [, key = ''] = segments(path, 2)
    return <ProjectPage key={key} projectKey={key} />
  }
  if (path === '/search') return <SearchPage />
  if (path === '/tokens') return <TokensPage />
  if (path === '/requests') return <RequestsPage />
  if (path === '/audit') return <AuditPage isAdmin={me.admin} />
  if (path.startsWith('/admin/') && !me.admin) return <NotAllowed />
  if (path === '/admin/projects') return <ProjectsPage />
  if (path === '/admin/repositories') return <AdminRepositoriesPage />
  if (path === '/admin/repositories/new') return <RepositoryFormPage />
  if (path.startsWith('/admin/repositories/')) {
    const [, , key = ''] = segments(path, 3)
    return <RepositoryFormPage key={key} repoKey={key} />
  }
  if (path === '/admin/users') return <AdminUsersPage />
  if (path === '/admin/users/new') return <UserFormPage />
  if (path.startsWith('/admin/users/')) {
    const [, , name = ''] = segments(path, 3)
    return <UserFormPage key={name} userName={name} />
  }
  if (path === '/admin/groups') return <AdminGroupsPage />
  if (path === '/admin/groups/new') return <GroupFormPage />
  if (path.startsWith('/admin/groups/')) {
    const [, , name = ''] = segments(path, 3)
    return <GroupFormPage key={name} groupName={name} />
  }
  if (path === '/admin/permissions') return <AdminPermissionsPage />
  if (path === '/admin/permissions/new') return <PermissionFormPage />
  if (path.startsWith('/admin/permissions/')) {
    const [, , name = ''] = segments(path, 3)
    return <PermissionFormPage key={name} targetName={name} />
  }
  if (path === '/admin/system') return <AdminSystemPage />
  if (path === '/admin/operations') return <OperationsIndex />
  if (path === '/admin/requests') return <AdminRequestsPage />
  if (path === '/admin/audit') return <AuditPage isAdmin />
  if (path === '/admin/maintenance') return <MaintenancePage />
  if (path === '/admin/webhooks') return <WebhooksPage />
  return (
    <section>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        Nothing lives at this address. <Link to="/">See the repositories</Link>.
      </p>
    </section>
  )
}

function OperationsIndex() {
  return (
    <section>
      <h1 tabIndex={-1}>Operations</h1>
      <ul>
        <li>
          <Link to="/admin/requests">Request queue</Link>
        </li>
        <li>
          <Link to="/admin/maintenance">Maintenance windows</Link>
        </li>
        <li>
          <Link to="/admin/audit">Audit log</Link>
        </li>
        <li>
          <Link to="/admin/webhooks">Webhooks</Link>
        </li>
      </ul>
    </section>
  )
}

function NotAllowed() {
  return (
    <section>
      <h1 tabIndex={-1}>Administrators only</h1>
      <p>
        This page is for system administrators. <Link to="/">See the repositories</Link>.
      </p>
    </section>
  )
}
