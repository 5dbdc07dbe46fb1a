import { useState, type FormEvent } from 'react'
import { api } from '../api.js'
import { CopyButton, ErrorMessage, Field, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { formatDate } from '../format.js'
import { useSession } from '../session.js'

/** Access tokens for command-line clients: yours (administrators: everyone's). */
export function TokensPage() {
  useTitle('Tokens')
  const { me } = useSession()
  const { value, error, loading, reload } = useAsync(() => api.tokens(), [])
  const [description, setDescription] = useState('')
  const [expiry, setExpiry] = useState('2592000')
  const [created, setCreated] = useState<string | undefined>()
  const [createError, setCreateError] = useState<string | undefined>()
  const [revokeError, setRevokeError] = useState<{ id: string; message: string } | undefined>()

  const create = async (event: FormEvent) => {
    event.preventDefault()
    setCreateError(undefined)
    try {
      const token = await api.createToken(description.trim(), Number(expiry))
      setCreated(token?.access_token)
      setDescription('')
      reload()
    } catch (err) {
      setCreateError((err as Error).message)
    }
  }
  const revoke = async (id: string) => {
    setRevokeError(undefined)
    try {
      await api.revokeToken(id)
      reload()
    } catch (err) {
      setRevokeError({ id, message: (err as Error).message })
    }
  }

  const tokens = value?.tokens ?? []
  return (
    <section>
      <PageHeader title="Access tokens" />
      <p>
        Command-line clients log in with a token instead of your password: as the password of HTTP Basic (<code>{me.name}:&lt;token&gt;</code>) or as{' '}
        <code>Authorization: Bearer &lt;token&gt;</code>. A token is shown once, when it is created.
      </p>
      <form className="card" onSubmit={create}>
        <h2>Create a token</h2>
        <Field label="Description" help="What it is for, e.g. the CI job that uses it.">
          {(props) => <input {...props} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        <Field label="Expires after">
          {(props) => (
            <select {...props} value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              <option value="86400">1 day</option>
              <option value="2592000">30 days</option>
              <option value="31536000">1 year</option>
              <option value="0">Never</option>
            </select>
          )}
        </Field>
        <button type="submit" className="primary">
          Create token
        </button>
        <ErrorMessage error={createError} />
        {created ? (
          <div className="token-made" role="status">
            <p>
              <strong>Copy it now: it is not shown again.</strong>
            </p>
            <p className="token-line">
              <code data-testid="new-token">{created}</code> <CopyButton text={created} label="Copy the token" />
            </p>
          </div>
        ) : null}
      </form>
      <h2>{me.admin ? 'All tokens' : 'Your tokens'}</h2>
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {value && tokens.length === 0 ? <p className="empty">No tokens yet.</p> : null}
      {tokens.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                {me.admin ? <th scope="col">User</th> : null}
                <th scope="col">Description</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.token_id}>
                  {me.admin ? <td>{t.subject}</td> : null}
                  <td>{t.description || <span className="muted">(none)</span>}</td>
                  <td>{formatDate(t.issued_at * 1000)}</td>
                  <td>{t.expiry ? formatDate(t.expiry * 1000) : 'never'}</td>
                  <td>{t.last_used ? formatDate(t.last_used * 1000) : 'never'}</td>
                  <td>
                    <button type="button" className="small danger" onClick={() => revoke(t.token_id)} aria-label={`Revoke ${t.description || t.token_id}`}>
                      Revoke
                    </button>
                    {revokeError?.id === t.token_id ? <ErrorMessage error={revokeError.message} /> : null}
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
