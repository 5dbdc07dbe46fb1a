import { WriteForm } from '../read-only.js'
import { useState, type FormEvent } from 'react'
import { ApiError } from '../api.js'
import { ErrorMessage, Field, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { formatBytes } from '../format.js'
import { projectsApi, type UiProject } from '../projects-api.js'
import { Link, navigate, routePath } from '../router.js'
import { useSession } from '../session.js'
import { ProjectMembers, ServiceAccounts } from './project-members.js'
import { ProjectSecurity } from './security.js'
import { UsageSummary } from './usage-report.js'

const UNITS = { MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 } as const

/** A quota as a bar: used / limit, with the warning past 80%. */
export function QuotaBar({ project }: { project: UiProject }) {
  const used = project.storageUsedBytes
  const limit = project.storageQuotaBytes
  if (limit < 0) return <p data-testid="quota">{formatBytes(used)} used, no quota.</p>
  const percent = limit === 0 ? 100 : Math.min(100, Math.round((used / limit) * 100))
  return (
    <div className={`quota-line${project.storageQuotaWarning ? ' warning' : ''}`} data-testid="quota">
      <progress className="quota" max={limit} value={Math.min(used, limit)} aria-label={`Storage of ${project.key}`} />{' '}
      <span>
        {formatBytes(used)} of {formatBytes(limit)} used ({percent}%)
        {project.storageQuotaWarning ? ' — past 80%: uploads are refused once the quota is reached.' : ''}
      </span>
    </div>
  )
}

/** "My projects" (an admin: every project, and the form that creates one). */
export function ProjectsPage() {
  useTitle('Projects')
  const { me } = useSession()
  const { value, error, loading } = useAsync(() => projectsApi.list(), [])
  return (
    <section>
      <PageHeader title={me.admin ? 'Projects' : 'My projects'} />
      {me.admin ? <CreateProject /> : null}
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {value && value.length === 0 ? (
        <p className="empty">{me.admin ? 'No projects yet: create one above.' : 'You are in no project. Ask for one under Requests, or ask a Project Admin to add you.'}</p>
      ) : null}
      {value && value.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Your roles</th>
                <th scope="col">Repositories</th>
                <th scope="col">Storage</th>
              </tr>
            </thead>
            <tbody>
              {value.map((p) => (
                <tr key={p.key}>
                  <th scope="row">
                    <Link to={routePath('projects', p.key)}>{p.displayName || p.key}</Link> <span className="muted">({p.key})</span>
                  </th>
                  <td>{p.roles.length > 0 ? p.roles.join(', ') : me.admin ? 'system admin' : '—'}</td>
                  <td>{p.repositories.length}</td>
                  <td>
                    <QuotaBar project={p} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  )
}

function CreateProject() {
  const [key, setKey] = useState('')
  const [name, setName] = useState('')
  const [quota, setQuota] = useState('')
  const [unit, setUnit] = useState<keyof typeof UNITS>('GiB')
  const [error, setError] = useState<ApiError | Error | undefined>()
  const fieldError = (field: string) => (error instanceof ApiError ? error.errors.find((e) => e.field === field)?.message : undefined)
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    try {
      await projectsApi.create({ project_key: key.trim(), display_name: name.trim() || key.trim(), storage_quota_bytes: quotaBytes(quota, unit) })
      navigate(routePath('projects', key.trim()))
    } catch (err) {
      setError(err as Error)
    }
  }
  const general = error && !(error instanceof ApiError && error.errors.some((e) => e.field)) ? error : undefined
  return (
    <WriteForm className="card" onSubmit={submit}>
      <h2>Create a project</h2>
      <Field label="Project key" help="2–32 characters, a–z then a–z and 0–9; its repositories' keys start with it and a dash." error={fieldError('project_key')}>
        {(props) => <input {...props} value={key} onChange={(e) => setKey(e.target.value)} required />}
      </Field>
      <Field label="Display name" error={fieldError('display_name')}>
        {(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <QuotaFields quota={quota} unit={unit} onQuota={setQuota} onUnit={setUnit} error={fieldError('storage_quota_bytes')} />
      <button type="submit" className="primary">
        Create project
      </button>
      <ErrorMessage error={general} />
    </WriteForm>
  )
}

function QuotaFields({ quota, unit, onQuota, onUnit, error }: { quota: string; unit: keyof typeof UNITS; onQuota: (v: string) => void; onUnit: (v: keyof typeof UNITS) => void; error?: string | undefined }) {
  return (
    <div className="inline-fields">
      <Field label="Storage quota" help="Empty: no quota." error={error}>
        {(props) => <input {...props} type="number" min="0" step="any" value={quota} onChange={(e) => onQuota(e.target.value)} />}
      </Field>
      <Field label="Unit">
        {(props) => (
          <select {...props} value={unit} onChange={(e) => onUnit(e.target.value as keyof typeof UNITS)}>
            {Object.keys(UNITS).map((u) => (
              <option key={u}>{u}</option>
            ))}
          </select>
        )}
      </Field>
    </div>
  )
}

function quotaBytes(quota: string, unit: keyof typeof UNITS): number {
  return quota.trim() === '' ? -1 : Math.round(Number(quota) * UNITS[unit])
}

/** One project: its quota by repository, members, service accounts and their tokens. */
export function ProjectPage({ projectKey }: { projectKey: string }) {
  useTitle(`Project ${projectKey}`)
  const { me } = useSession()
  const { value, error, loading, reload } = useAsync(() => projectsApi.list(), [projectKey])
  const project = value?.find((p) => p.key === projectKey)
  if (loading && !value) return <Loading />
  if (error) return <ErrorMessage error={error} />
  if (!project) {
    return (
      <section>
        <PageHeader title="Project not found" />
        <p>
          You are in no project <code>{projectKey}</code>. <Link to="/projects">See your projects</Link>.
        </p>
      </section>
    )
  }
  const used = project.repositories.reduce((n, r) => n + r.usedSpaceInBytes, 0)
  return (
    <section>
      <PageHeader title={`${project.displayName || project.key} (${project.key})`} />
      {project.description ? <p>{project.description}</p> : null}
      <p>
        Your roles: <strong data-testid="my-roles">{project.roles.length > 0 ? project.roles.join(', ') : me.admin ? 'system admin' : '—'}</strong>
      </p>
      <h2>Storage</h2>
      <QuotaBar project={project} />
      {me.admin ? <QuotaEditor project={project} onSaved={reload} /> : null}
      <UsageSummary scope="projects" name={project.key} />
      <h2>Repositories</h2>
      {project.repositories.length === 0 ? (
        <p className="empty">No repositories yet. Repositories whose keys start with <code>{project.key}-</code> join it when they are created{project.manageResources ? ' (Manage repositories)' : ''}.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="project-repositories">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Type</th>
                <th scope="col">Class</th>
                <th scope="col" className="num">Files</th>
                <th scope="col" className="num">Size</th>
                <th scope="col" className="num">Share</th>
              </tr>
            </thead>
            <tbody>
              {project.repositories.map((r) => (
                <tr key={r.key}>
                  <th scope="row">
                    <Link to={routePath('repositories', r.key)}>{r.key}</Link>
                  </th>
                  <td>{r.packageType}</td>
                  <td>{r.rclass}</td>
                  <td className="num">{r.filesCount}</td>
                  <td className="num">{formatBytes(r.usedSpaceInBytes)}</td>
                  <td className="num">{used > 0 ? `${Math.round((r.usedSpaceInBytes / used) * 100)}%` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ProjectSecurity projectKey={project.key} />
      <ProjectMembers project={project} />
      <ServiceAccounts project={project} />
    </section>
  )
}

function QuotaEditor({ project, onSaved }: { project: UiProject; onSaved: () => void }) {
  const [quota, setQuota] = useState(project.storageQuotaBytes < 0 ? '' : String(project.storageQuotaBytes / UNITS.MiB))
  const [unit, setUnit] = useState<keyof typeof UNITS>('MiB')
  const [error, setError] = useState<Error | undefined>()
  const [saved, setSaved] = useState(false)
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    setSaved(false)
    try {
      await projectsApi.setQuota(project.key, quotaBytes(quota, unit))
      setSaved(true)
      onSaved()
    } catch (err) {
      setError(err as Error)
    }
  }
  return (
    <WriteForm className="card" onSubmit={submit} aria-label="Set the quota">
      <QuotaFields quota={quota} unit={unit} onQuota={setQuota} onUnit={setUnit} />
      <button type="submit">Set quota</button>
      {saved ? <span role="status"> Quota saved.</span> : null}
      <ErrorMessage error={error} />
    </WriteForm>
  )
}
