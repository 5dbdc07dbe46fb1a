import { WriteForm } from '../read-only.js'
import { useState, type FormEvent, type ReactNode } from 'react'
import { ErrorMessage, Field, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { api } from '../api.js'
import { formatDate } from '../format.js'
import { operationsApi, type ServiceRequestBody } from '../operations-api.js'

/** Ask for a project or a remote repository, and follow your requests. */
export function RequestsPage() {
  useTitle('Requests')
  const { value, error, loading, reload } = useAsync(() => operationsApi.requests('?mine=true'), [])
  const [kind, setKind] = useState<'project' | 'remote-repository'>('project')
  const [fields, setFields] = useState<Record<string, string>>({})
  const [submitError, setSubmitError] = useState<string | undefined>()
  const [done, setDone] = useState<string | undefined>()
  // The package types a remote repository can be asked for: the formats that serve remotes.
  const formats = useAsync(async () => (await api.formats()).filter((f) => f.kinds.includes('remote')), [])
  const set = (name: string) => (e: { target: { value: string } }) => setFields({ ...fields, [name]: e.target.value })

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setSubmitError(undefined)
    setDone(undefined)
    try {
      const quota = fields.quotaMiB ? Math.round(Number(fields.quotaMiB) * 1024 * 1024) : undefined
      const made =
        kind === 'project'
          ? await operationsApi.submitRequest({ kind, key: fields.key ?? '', name: fields.name || undefined, purpose: fields.purpose ?? '', ...(quota !== undefined ? { quotaBytes: quota } : {}) } as never)
          : await operationsApi.submitRequest({ kind, key: fields.key ?? '', packageType: fields.packageType ?? formats.value?.[0]?.id ?? '', url: fields.url ?? '', why: fields.why ?? '' })
      setDone(`Request for '${String(made.request.key)}' sent: an administrator will look at it.`)
      setFields({})
      reload()
    } catch (err) {
      setSubmitError((err as Error).message)
    }
  }

  return (
    <section>
      <PageHeader title="Requests" />
      <WriteForm className="card" onSubmit={submit} aria-label="New request">
        <h2>Ask for…</h2>
        <Field label="What">
          {(props) => (
            <select {...props} value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
              <option value="project">a project</option>
              <option value="remote-repository">a remote repository (a cached public registry)</option>
            </select>
          )}
        </Field>
        <Field label="Key" help={kind === 'project' ? 'a-z then a-z or 0-9, 2 to 32 characters' : 'the repository key'}>
          {(props) => <input {...props} value={fields.key ?? ''} onChange={set('key')} required />}
        </Field>
        {kind === 'project' ? (
          <>
            <Field label="Name">{(props) => <input {...props} value={fields.name ?? ''} onChange={set('name')} />}</Field>
            <Field label="Purpose">{(props) => <textarea {...props} value={fields.purpose ?? ''} onChange={set('purpose')} required />}</Field>
            <Field label="Quota (MiB)" help="Empty: no quota.">
              {(props) => <input {...props} type="number" min="0" value={fields.quotaMiB ?? ''} onChange={set('quotaMiB')} />}
            </Field>
          </>
        ) : (
          <>
            <Field label="Package type">
              {(props) => (
                <select {...props} value={fields.packageType ?? formats.value?.[0]?.id ?? ''} onChange={set('packageType')} required>
                  {(formats.value ?? []).map((f) => (
                    <option key={f.id} value={f.id}>
                      {f.title}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Upstream URL">{(props) => <input {...props} type="url" value={fields.url ?? ''} onChange={set('url')} required />}</Field>
            <Field label="Why">{(props) => <textarea {...props} value={fields.why ?? ''} onChange={set('why')} required />}</Field>
          </>
        )}
        <button type="submit" className="primary">
          Send request
        </button>
        <ErrorMessage error={submitError} />
        {done ? <p role="status">{done}</p> : null}
      </WriteForm>
      <h2>Your requests</h2>
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {value && value.requests.length === 0 ? <p className="empty">No requests yet.</p> : null}
      {value && value.requests.length > 0 ? <RequestTable requests={value.requests} /> : null}
    </section>
  )
}

function RequestTable({ requests, actions }: { requests: readonly ServiceRequestBody[]; actions?: (r: ServiceRequestBody) => ReactNode }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Asked</th>
            <th scope="col">What</th>
            <th scope="col">Key</th>
            <th scope="col">By</th>
            <th scope="col">Status</th>
            <th scope="col">{actions ? 'Decide' : 'Reason'}</th>
          </tr>
        </thead>
        <tbody>
          {requests.map((r) => (
            <tr key={r.id}>
              <td>{formatDate(Date.parse(r.createdAt))}</td>
              <td>{r.kind === 'project' ? 'project' : `remote ${String(r.request.packageType)}`}</td>
              <td>{String(r.request.key)}</td>
              <td>{r.requester}</td>
              <td>{r.status}</td>
              <td>{actions ? actions(r) : (r.reason ?? '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The admins' queue: approve (with an edited quota) or decline with a reason. */
export function AdminRequestsPage() {
  useTitle('Request queue')
  const { value, error, loading, reload } = useAsync(() => operationsApi.requests('?status=pending'), [])
  const [quota, setQuota] = useState<Record<string, string>>({})
  const [reason, setReason] = useState<Record<string, string>>({})
  const [actionError, setActionError] = useState<string | undefined>()
  const act = async (run: () => Promise<unknown>) => {
    setActionError(undefined)
    try {
      await run()
      reload()
    } catch (err) {
      setActionError((err as Error).message)
    }
  }
  return (
    <section>
      <PageHeader title="Request queue" />
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error ?? actionError} />
      {value && value.requests.length === 0 ? <p className="empty">No pending requests.</p> : null}
      {value && value.requests.length > 0 ? (
        <RequestTable
          requests={value.requests}
          actions={(r) => (
            <div className="decide">
              {r.kind === 'project' ? (
                <label>
                  Quota (MiB){' '}
                  <input type="number" min="0" value={quota[r.id] ?? ''} placeholder={Number(r.request.quotaBytes) > 0 ? String(Number(r.request.quotaBytes) / 1024 / 1024) : 'none'} onChange={(e) => setQuota({ ...quota, [r.id]: e.target.value })} aria-label={`Quota for ${String(r.request.key)}`} />
                </label>
              ) : null}
              <button type="button" className="small primary" onClick={() => act(() => operationsApi.approveRequest(r.id, quota[r.id] ? { quotaBytes: Math.round(Number(quota[r.id]) * 1024 * 1024) } : {}))}>
                Approve {String(r.request.key)}
              </button>
              <input value={reason[r.id] ?? ''} onChange={(e) => setReason({ ...reason, [r.id]: e.target.value })} placeholder="Reason" aria-label={`Reason to decline ${String(r.request.key)}`} />
              <button type="button" className="small danger" onClick={() => act(() => operationsApi.declineRequest(r.id, reason[r.id] ?? ''))}>
                Decline {String(r.request.key)}
              </button>
            </div>
          )}
        />
      ) : null}
    </section>
  )
}
