import { useMemo, useState } from 'react'
import { api } from '../api.js'
import { ErrorMessage, Loading, PageHeader, RepositoryColumnHeaders, RepositoryColumns, useAsync, useTitle } from '../components.js'
import { Link, routePath } from '../router.js'
import { useSession } from '../session.js'

/** The project filter's value for repositories outside any project. */
const NO_PROJECT = '-none' // project keys have no dash

export function RepositoriesPage() {
  useTitle('Repositories')
  const { me } = useSession()
  const { value: repositories, error, loading, reload } = useAsync(() => api.repositories(), [])
  const [packageType, setPackageType] = useState('')
  const [rclass, setRclass] = useState('')
  const [search, setSearch] = useState('')
  const [project, setProject] = useState('')

  const types = useMemo(() => [...new Set((repositories ?? []).map((r) => r.packageType))].sort(), [repositories])
  const classes = useMemo(() => [...new Set((repositories ?? []).map((r) => r.rclass))].sort(), [repositories])
  const projects = useMemo(() => [...new Set((repositories ?? []).flatMap((r) => (r.projectKey ? [r.projectKey] : [])))].sort(), [repositories])
  const shown = (repositories ?? []).filter(
    (r) =>
      (!packageType || r.packageType === packageType) &&
      (!rclass || r.rclass === rclass) &&
      (!project || (project === NO_PROJECT ? !r.projectKey : r.projectKey === project)) &&
      r.key.includes(search.trim().toLowerCase()),
  )

  return (
    <section>
      <PageHeader title="Repositories">
        {me.admin ? (
          <Link to="/admin/repositories/new" className="button primary">
            Create a repository
          </Link>
        ) : null}
      </PageHeader>
      <div className="filters" role="group" aria-label="Filter repositories">
        <div className="field inline">
          <label htmlFor="filter-key">Key</label>
          <input id="filter-key" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Search by key" />
        </div>
        <div className="field inline">
          <label htmlFor="filter-type">Package type</label>
          <select id="filter-type" value={packageType} onChange={(e) => setPackageType(e.target.value)}>
            <option value="">All</option>
            {types.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
        <div className="field inline">
          <label htmlFor="filter-class">Class</label>
          <select id="filter-class" value={rclass} onChange={(e) => setRclass(e.target.value)}>
            <option value="">All</option>
            {classes.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </div>
        {projects.length > 0 ? (
          <div className="field inline">
            <label htmlFor="filter-project">Project</label>
            <select id="filter-project" value={project} onChange={(e) => setProject(e.target.value)}>
              <option value="">All</option>
              {projects.map((p) => (
                <option key={p}>{p}</option>
              ))}
              <option value={NO_PROJECT}>(no project)</option>
            </select>
          </div>
        ) : null}
      </div>
      {error ? (
        <ErrorMessage error={error}>
          Could not load the repositories: {error.message}{' '}
          <button type="button" className="small" onClick={reload}>
            Try again
          </button>
        </ErrorMessage>
      ) : null}
      {loading && !repositories ? <Loading label="Loading repositories…" /> : null}
      {repositories && repositories.length === 0 ? (
        <div className="empty">
          <p>No repositories yet{me.admin ? '.' : ' that you may read.'}</p>
          <p>
            {me.admin ? (
              <>
                <Link to="/admin/repositories/new">Create the first repository</Link>, for example a generic local one for build outputs.
              </>
            ) : (
              'Ask an administrator to grant you access to a repository.'
            )}
          </p>
        </div>
      ) : null}
      {repositories && repositories.length > 0 ? (
        <>
          <p className="count" aria-live="polite">
            {shown.length === repositories.length ? `${repositories.length} repositories` : `${shown.length} of ${repositories.length} repositories`}
          </p>
          {shown.length === 0 ? <p className="empty">No repository matches these filters.</p> : null}
          {shown.length > 0 ? (
            <div className="table-wrap">
              <table className="repositories">
                <caption className="visually-hidden">Repositories you may read</caption>
                <thead>
                  <tr>
                    <RepositoryColumnHeaders />
                    <th scope="col">Project</th>
                    <th scope="col">Your role</th>
                    <th scope="col">Description</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((r) => (
                    <tr key={r.key}>
                      <RepositoryColumns repository={r} />
                      <td>{r.projectKey ? <Link to={routePath('projects', r.projectKey)}>{r.projectKey}</Link> : <span className="muted">—</span>}</td>
                      <td>{r.projectRoles.length > 0 ? r.projectRoles.join(', ') : <span className="muted">—</span>}</td>
                      <td>{r.description}</td>
                      <td>
                        <Link to={routePath('setup', r.key)} aria-label={`Set Me Up for ${r.key}`}>
                          Set Me Up
                        </Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  )
}
