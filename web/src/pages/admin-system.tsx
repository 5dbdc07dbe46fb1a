import { useEffect, useState, type FormEvent } from 'react'
import { api } from '../api.js'
import { Checkbox, ErrorMessage, Field, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { formatBytes, formatDate } from '../format.js'
import { Link, routePath } from '../router.js'
import { useSession } from '../session.js'

export function AdminSystemPage() {
  useTitle('System')
  const version = useAsync(() => api.version(), [])
  const health = useAsync(() => api.readiness(), [])
  return (
    <section>
      <PageHeader title="System" />
      <div className="grid">
        <div className="card">
          <h2>Version and health</h2>
          <dl className="facts">
            <div className="fact">
              <dt>Version</dt>
              <dd>{version.value?.version ?? (version.error ? '—' : '…')}</dd>
            </div>
            {(health.value?.checks ?? []).map((c) => (
              <div key={c.name} className="fact">
                <dt>{c.name === 'metadata' ? 'Metadata store' : c.name === 'blobstore' ? 'Blob store' : c.name}</dt>
                <dd className={c.status === 'UP' ? 'ok' : 'bad'}>
                  {c.status === 'UP' ? 'working' : `failing: ${c.error ?? 'no answer'}`}
                </dd>
              </div>
            ))}
          </dl>
          {health.loading && !health.value ? <Loading /> : null}
          <ErrorMessage error={health.error} />
          <button type="button" className="small" onClick={health.reload}>
            Check again
          </button>
        </div>
        <ReadOnlySwitch />
      </div>
      <NodeList />
      <StorageChart />
    </section>
  )
}

function ReadOnlySwitch() {
  const { readOnly, refreshReadOnly } = useSession()
  const [isEnabled, setEnabled] = useState(false)
  const [message, setMessage] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [done, setDone] = useState<string | undefined>()
  useEffect(() => {
    if (!readOnly) return
    setEnabled(readOnly.enabled)
    setMessage(readOnly.message)
  }, [readOnly])
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    setDone(undefined)
    try {
      const state = await api.setReadOnly({ enabled: isEnabled, message })
      setDone(state.enabled ? 'Read-only mode is on: every change is refused.' : 'Read-only mode is off.')
      refreshReadOnly()
    } catch (e) {
      setError((e as Error).message)
    }
  }
  return (
    <form className="card" onSubmit={submit}>
      <h2>Read-only mode</h2>
      <p>While it is on, every write (deploys, deletes, properties, configuration, tokens) is refused with 503 and the message below; reads go on.</p>
      <Checkbox label="Read-only" checked={isEnabled} onChange={setEnabled} />
      <Field label="Message shown to clients and in the banner">
        {(props) => <input {...props} value={message} onChange={(e) => setMessage(e.target.value)} placeholder="Maintenance until 17:00" />}
      </Field>
      {readOnly?.updatedAt ? <p className="muted">Last changed {formatDate(readOnly.updatedAt)}.</p> : null}
      <button type="submit" className="primary">
        Apply
      </button>
      <ErrorMessage error={error} />
      {done ? <p role="status">{done}</p> : null}
    </form>
  )
}

const NODE_STATES: Record<string, string> = {
  starting: 'starting',
  serving: 'serving',
  draining: 'draining (shutting down)',
  unresponsive: 'no heartbeat',
}

/** The nodes of the cluster (docs/high-availability.md): one row each, from its heartbeat. */
function NodeList() {
  const { value, error, loading, reload } = useAsync(() => api.nodes(), [])
  return (
    <div className="card">
      <h2>Nodes</h2>
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {value ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Address</th>
              <th scope="col">Version</th>
              <th scope="col">Started</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {value.map((n) => (
              <tr key={n.id}>
                <th scope="row">
                  {n.hostname} (pid {n.pid}){n.isSelf ? ' — this node' : ''}
                </th>
                <td>{n.address ?? '—'}</td>
                <td>{n.version ?? '—'}</td>
                <td>{formatDate(n.startedAt)}</td>
                <td>{formatDate(n.lastHeartbeat)}</td>
                <td className={n.state === 'serving' ? 'ok' : 'bad'}>{NODE_STATES[n.state] ?? n.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <button type="button" className="small" onClick={reload}>
        Refresh
      </button>
    </div>
  )
}

/** Storage used per repository, largest first, as bars (meter elements carry the values for assistive technology). */
function StorageChart() {
  const { value, error, loading } = useAsync(() => api.storageInfo(), [])
  const rows = [...(value?.repositoriesSummaryList ?? [])].sort((a, b) => b.usedSpaceInBytes - a.usedSpaceInBytes)
  const max = Math.max(1, ...rows.map((r) => r.usedSpaceInBytes))
  return (
    <div className="card">
      <h2>Storage per repository</h2>
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {value ? (
        <p>
          {value.totals.filesCount} files, {formatBytes(value.totals.usedSpaceInBytes)} in total (before deduplication: blobs shared by several files are stored once).
        </p>
      ) : null}
      {value && rows.length === 0 ? <p className="empty">No repositories yet.</p> : null}
      {rows.length > 0 ? (
        <table className="chart">
          <thead>
            <tr>
              <th scope="col">Repository</th>
              <th scope="col">Used</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col" className="num">
                Files
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.repoKey}>
                <th scope="row">
                  <Link to={routePath('repositories', r.repoKey)}>{r.repoKey}</Link>
                </th>
                <td className="bar">
                  <meter min={0} max={max} value={r.usedSpaceInBytes} aria-label={`${r.repoKey}: ${formatBytes(r.usedSpaceInBytes)}`}>
                    {formatBytes(r.usedSpaceInBytes)}
                  </meter>
                </td>
                <td className="num">{formatBytes(r.usedSpaceInBytes)}</td>
                <td className="num">{r.filesCount}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  )
}
