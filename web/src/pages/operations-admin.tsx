import { useState, type FormEvent } from 'react'
import { ErrorMessage, Field, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { formatDate } from '../format.js'
import { operationsApi } from '../operations-api.js'

const EVENTS = ['maintenance.announced', 'maintenance.started', 'maintenance.ended', 'request.submitted', 'request.decided', 'artifact.deployed', 'artifact.deleted']

/** The audit log, newest first, with filters and the JSON-lines export; a Project Admin names their project. */
export function AuditPage({ isAdmin }: { isAdmin: boolean }) {
  useTitle('Audit log')
  const [filters, setFilters] = useState({ project: '', actor: '', action: '', target: '', outcome: '' })
  const [applied, setApplied] = useState(filters)
  const mayAsk = isAdmin || applied.project !== ''
  const { value, error, loading } = useAsync(async () => (mayAsk ? operationsApi.audit({ ...applied, limit: '200' }) : undefined), [applied, mayAsk])
  const field = (name: keyof typeof filters, label: string) => (
    <Field label={label}>{(props) => <input {...props} value={filters[name]} onChange={(e) => setFilters({ ...filters, [name]: e.target.value })} />}</Field>
  )
  return (
    <section>
      <PageHeader title="Audit log">
        <a href={`/api/v1/audit/export?${new URLSearchParams(Object.entries(applied).filter(([, v]) => v !== ''))}`} download>
          Export (JSON lines)
        </a>
      </PageHeader>
      <form
        className="card filters"
        onSubmit={(e) => {
          e.preventDefault()
          setApplied(filters)
        }}
      >
        {field('project', isAdmin ? 'Project' : 'Project (one you administer)')}
        {field('actor', 'Actor')}
        {field('action', 'Action (a prefix ends in a dot)')}
        {field('target', 'Target')}
        {field('outcome', 'Outcome')}
        <button type="submit">Filter</button>
      </form>
      {!mayAsk ? <p className="empty">Name a project you are a Project Admin of to see its events.</p> : null}
      {loading && !value && mayAsk ? <Loading /> : null}
      <ErrorMessage error={error} />
      {value ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">From</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {value.events.map((e) => (
                <tr key={e.id}>
                  <td>{formatDate(Date.parse(e.at))}</td>
                  <td>
                    {e.actor}
                    {e.actorVia === 'token' ? <span className="muted"> (token)</span> : null}
                  </td>
                  <td>{e.address ?? ''}</td>
                  <td>{e.action}</td>
                  <td>{e.target}</td>
                  <td>{e.outcome}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  )
}

/** Maintenance windows: schedule (with the required notice, or forced with a reason), end early. */
export function MaintenancePage() {
  useTitle('Maintenance')
  const { value, error, loading, reload } = useAsync(() => operationsApi.maintenance(), [])
  const [form, setForm] = useState({ kind: 'read-only', message: '', start: '', end: '', reason: '' })
  const [formError, setFormError] = useState<string | undefined>()
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setFormError(undefined)
    try {
      const start = new Date(form.start).toISOString()
      const end = new Date(form.end).toISOString()
      await operationsApi.scheduleMaintenance({ kind: form.kind as 'read-only', message: form.message, start, end, ...(form.reason ? { force: true, reason: form.reason } : {}) })
      reload()
    } catch (err) {
      setFormError((err as Error).message)
    }
  }
  const endNow = async (id: string) => {
    setFormError(undefined)
    try {
      await operationsApi.changeMaintenance(id, { endNow: true })
      reload()
    } catch (err) {
      setFormError((err as Error).message)
    }
  }
  const input = (name: keyof typeof form, label: string, type = 'text', help?: string) => (
    <Field label={label} help={help}>
      {(props) => <input {...props} type={type} value={form[name]} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />}
    </Field>
  )
  return (
    <section>
      <PageHeader title="Maintenance windows" />
      <form className="card" onSubmit={submit}>
        <h2>Schedule a window</h2>
        <Field label="Kind">
          {(props) => (
            <select {...props} value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value })}>
              <option value="read-only">read-only</option>
              <option value="outage">outage</option>
            </select>
          )}
        </Field>
        {input('message', 'Message')}
        {input('start', 'Start', 'datetime-local')}
        {input('end', 'End', 'datetime-local')}
        {input('reason', 'Reason for short notice', 'text', value ? `Needed when the start is less than ${Math.round(value.noticeSecs / 3600)} h away.` : undefined)}
        <button type="submit" className="primary">
          Announce
        </button>
        <ErrorMessage error={formError} />
      </form>
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {value ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Message</th>
              <th scope="col">Start</th>
              <th scope="col">End</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {value.windows.map((w) => (
              <tr key={w.id}>
                <td>{w.kind}</td>
                <td>{w.message}</td>
                <td>{formatDate(Date.parse(w.start))}</td>
                <td>{formatDate(Date.parse(w.end))}</td>
                <td>{w.state}</td>
                <td>
                  {w.state === 'scheduled' || w.state === 'active' ? (
                    <button type="button" className="small danger" onClick={() => endNow(w.id)}>
                      {w.state === 'active' ? 'End now' : 'Cancel'}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  )
}

/** System webhooks: create (the secret is shown once), delete, see deliveries. */
export function WebhooksPage() {
  useTitle('Webhooks')
  const { value, error, loading, reload } = useAsync(() => operationsApi.webhooks(), [])
  const [form, setForm] = useState({ name: '', url: '', events: ['maintenance.announced'] as string[] })
  const [secret, setSecret] = useState<string | undefined>()
  const [formError, setFormError] = useState<string | undefined>()
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setFormError(undefined)
    try {
      setSecret((await operationsApi.createWebhook(form)).secret)
      reload()
    } catch (err) {
      setFormError((err as Error).message)
    }
  }
  return (
    <section>
      <PageHeader title="Webhooks" />
      <form className="card" onSubmit={submit}>
        <h2>Add a webhook</h2>
        <Field label="Name">{(props) => <input {...props} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
        <Field label="URL" help="Receives signed JSON (X-Trove-Signature-256) with a 'text' field for chat.">
          {(props) => <input {...props} type="url" value={form.url} onChange={(e) => setForm({ ...form, url: e.target.value })} />}
        </Field>
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map((name) => (
            <label key={name} className="checkbox">
              <input
                type="checkbox"
                checked={form.events.includes(name)}
                onChange={(e) => setForm({ ...form, events: e.target.checked ? [...form.events, name] : form.events.filter((x) => x !== name) })}
              />{' '}
              {name}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="primary">
          Add webhook
        </button>
        <ErrorMessage error={formError} />
        {secret ? (
          <p role="status">
            Signing secret (shown once): <code>{secret}</code>
          </p>
        ) : null}
      </form>
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {value ? (
        <ul className="webhooks">
          {value.webhooks.map((w) => (
            <li key={w.id}>
              <strong>{w.name}</strong> {w.url} ({w.events.join(', ')}){w.project ? ` project ${w.project}` : ''}{' '}
              <button type="button" className="small danger" onClick={() => operationsApi.deleteWebhook(w.id).then(reload, (err: Error) => setFormError(err.message))}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  )
}
