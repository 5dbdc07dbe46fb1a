import { WriteForm } from '../read-only.js'
import { useState, type FormEvent } from 'react'
import { api, type TokenInfo } from '../api.js'
import { CopyButton, ErrorMessage, Field, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { formatDate } from '../format.js'
import { projectsApi, roleScope } from '../projects-api.js'
import { useSession } from '../session.js'
import { ConfirmButton } from './project-members.js'
import { ExpiryField, scopeText } from './service-account-tokens.js'

/** What the console's logins are called in the token list (src/http/routes/ui.ts). */
const SESSION_DESCRIPTION = 'console session'

/**
 * Access tokens for command-line clients: yours (administrators: everyone's), with a scope (all you
 * may do, or one of your projects' roles) and an expiry; console sessions listed apart. Revoking asks
 * first, and warns when it is the session in use. Service accounts' tokens are on their project's page.
 */
export function TokensPage() {
  useTitle('Tokens')
  const { me, signedOut } = useSession()
  const { value, error, loading, reload } = useAsync(() => api.tokens(), [])
  const projects = useAsync(() => projectsApi.list(), [])
  const firstProject = projects.value?.[0]?.key
  const roles = useAsync(async () => (firstProject ? projectsApi.roles(firstProject) : []), [firstProject])
  const [description, setDescription] = useState('')
  const [expiry, setExpiry] = useState('2592000')
  const [scope, setScope] = useState('')
  const [created, setCreated] = useState<string | undefined>()
  const [createError, setCreateError] = useState<string | undefined>()

  const create = async (event: FormEvent) => {
    event.preventDefault()
    setCreateError(undefined)
    setCreated(undefined)
    try {
      const token = await projectsApi.createToken({ description: description.trim(), ...(Number(expiry) > 0 ? { expires_in: Number(expiry) } : {}), ...(scope ? { scope } : {}) })
      setCreated(token.access_token)
      setDescription('')
      reload()
    } catch (err) {
      setCreateError((err as Error).message)
    }
  }
  const revoke = async (token: TokenInfo) => {
    await api.revokeToken(token.token_id)
    if (token.token_id === me.sessionTokenId) signedOut()
    else reload()
  }

  const all = value?.tokens ?? []
  const sessions = all.filter((t) => t.description === SESSION_DESCRIPTION)
  const tokens = all.filter((t) => t.description !== SESSION_DESCRIPTION)
  const memberOf = (projects.value ?? []).filter((p) => p.roles.length > 0)
  return (
    <section>
      <PageHeader title="Access tokens" />
      <p>
        Command-line clients log in with a token instead of your password: as the password of HTTP Basic (<code>{me.name}:&lt;token&gt;</code>) or as{' '}
        <code>Authorization: Bearer &lt;token&gt;</code>. A token is shown once, when it is created. Tokens of a project's service accounts (for CI) are on
        the project's page.
      </p>
      <WriteForm className="card" onSubmit={create}>
        <h2>Create a token</h2>
        <Field label="Description" help="What it is for, e.g. the CI job that uses it.">
          {(props) => <input {...props} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        <Field label="Scope" help="A project role limits the token to that role's actions in that project, never more than your own role there.">
          {(props) => (
            <select {...props} value={scope} onChange={(e) => setScope(e.target.value)}>
              <option value="">Everything you may do</option>
              {memberOf.flatMap((p) =>
                (roles.value ?? []).map((r) => (
                  <option key={`${p.key}:${r}`} value={roleScope(p.key, r)}>
                    {r} in {p.key}
                  </option>
                )),
              )}
            </select>
          )}
        </Field>
        <ExpiryField label="Expires after" value={expiry} onChange={setExpiry} />
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
      </WriteForm>
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      <h2>{me.admin ? 'All tokens' : 'Your tokens'}</h2>
      {value && tokens.length === 0 ? <p className="empty">No tokens yet.</p> : null}
      {tokens.length > 0 ? <TokenTable tokens={tokens} showUser={me.admin} sessionId={me.sessionTokenId} onRevoke={revoke} testId="token-list" /> : null}
      <h2>Console sessions</h2>
      <p>Each console login is a session that lasts 12 hours or until you log out.</p>
      {sessions.length > 0 ? <TokenTable tokens={sessions} showUser={me.admin} sessionId={me.sessionTokenId} onRevoke={revoke} testId="session-list" /> : null}
    </section>
  )
}

function TokenTable({
  tokens,
  showUser,
  sessionId,
  onRevoke,
  testId,
}: {
  tokens: readonly TokenInfo[]
  showUser: boolean
  sessionId: string | undefined
  onRevoke: (token: TokenInfo) => Promise<void>
  testId: string
}) {
  return (
    <div className="table-wrap">
      <table data-testid={testId}>
        <thead>
          <tr>
            {showUser ? <th scope="col">User</th> : null}
            <th scope="col">Description</th>
            <th scope="col">Scope</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => {
            const isCurrent = t.token_id === sessionId
            const name = t.description || t.token_id
            return (
              <tr key={t.token_id}>
                {showUser ? <td>{t.subject}</td> : null}
                <th scope="row">
                  {t.description || <span className="muted">(none)</span>}
                  {isCurrent ? <strong> (this session)</strong> : null}
                </th>
                <td title={t.scope}>{scopeText(t.scope)}</td>
                <td>{formatDate(t.issued_at * 1000)}</td>
                <td>{t.expiry ? formatDate(t.expiry * 1000) : 'never'}</td>
                <td>{t.last_used ? formatDate(t.last_used * 1000) : 'never'}</td>
                <td>
                  <ConfirmButton
                    label={`Revoke ${name}`}
                    question={isCurrent ? 'This is the session you are using: revoking it logs you out. Revoke it?' : `Revoke "${name}"? Clients using it are refused from their next request.`}
                    confirm="Yes, revoke"
                    onConfirm={() => onRevoke(t)}
                  />
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
