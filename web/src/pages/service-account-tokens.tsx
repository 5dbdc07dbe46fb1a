import { WriteForm } from '../read-only.js'
import { useState, type FormEvent } from 'react'
import { CopyButton, ErrorMessage, Field, useAsync } from '../components.js'
import { formatDate } from '../format.js'
import { projectsApi, roleScope } from '../projects-api.js'
import { ConfirmButton } from './project-members.js'

export const EXPIRIES = [
  ['3600', '1 hour'],
  ['86400', '1 day'],
  ['2592000', '30 days'],
  ['31536000', '1 year'],
  ['0', 'Never'],
] as const

/** How long a new token lives: one of {@link EXPIRIES}, in seconds (`0`: never). */
export function ExpiryField({ label, value, onChange }: { label: string; value: string; onChange: (value: string) => void }) {
  return (
    <Field label={label}>
      {(props) => (
        <select {...props} value={value} onChange={(e) => onChange(e.target.value)}>
          {EXPIRIES.map(([seconds, text]) => (
            <option key={seconds} value={seconds}>
              {text}
            </option>
          ))}
        </select>
      )}
    </Field>
  )
}

/** What a token's scope means, in words. */
export function scopeText(scope: string): string {
  if (scope === '' || scope === 'applied-permissions/user') return 'everything its owner may do'
  if (scope === 'applied-permissions/admin') return 'administrator'
  const roles = /^applied-permissions\/roles:([^:]+):(.+)$/.exec(scope)
  if (roles) return `${roles[2]!.replace(/"/g, '')} in ${roles[1]}`
  const groups = /^applied-permissions\/groups:(.+)$/.exec(scope)
  if (groups) return `through groups ${groups[1]}`
  return scope
}

/**
 * A service account's tokens: create one (scope: everything the account may do, or one project
 * role; expiry), shown once; list them with expiry and last use; revoke with confirmation. The
 * server applies the minting rule (docs/access.md) and its refusal is shown as it says it.
 */
export function ServiceAccountTokens({ project, account, roles }: { project: string; account: string; roles: readonly string[] }) {
  const tokens = useAsync(() => projectsApi.tokensOf(account), [account])
  const [description, setDescription] = useState('CI')
  const [expiry, setExpiry] = useState('2592000')
  const [scope, setScope] = useState('')
  const [created, setCreated] = useState<string | undefined>()
  const [error, setError] = useState<Error | undefined>()
  const create = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    setCreated(undefined)
    try {
      const token = await projectsApi.createToken({ username: account, description: description.trim(), expires_in: Number(expiry), ...(scope ? { scope } : {}) })
      setCreated(token.access_token)
      tokens.reload()
    } catch (err) {
      setError(err as Error)
    }
  }
  const list = tokens.value ?? []
  return (
    <div className="tokens">
      <h4>Tokens of {account}</h4>
      <ErrorMessage error={tokens.error} />
      {tokens.value && list.length === 0 ? <p className="empty">No tokens: create one for the CI job below.</p> : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table data-testid={`tokens-${account}`}>
            <thead>
              <tr>
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
              {list.map((t) => (
                <tr key={t.token_id}>
                  <th scope="row">{t.description || <span className="muted">(none)</span>}</th>
                  <td title={t.scope}>{scopeText(t.scope)}</td>
                  <td>{formatDate(t.issued_at * 1000)}</td>
                  <td>{t.expiry ? formatDate(t.expiry * 1000) : 'never'}</td>
                  <td>{t.last_used ? formatDate(t.last_used * 1000) : 'never'}</td>
                  <td>
                    <ConfirmButton
                      label={`Revoke ${t.description || t.token_id}`}
                      question={`Revoke ${account}'s token "${t.description || t.token_id}"? Jobs using it fail from their next request.`}
                      confirm="Yes, revoke"
                      onConfirm={async () => {
                        await projectsApi.revokeToken(t.token_id)
                        tokens.reload()
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <WriteForm onSubmit={create} aria-label={`Create a token for ${account}`}>
        <div className="inline-fields">
          <Field label="Token description">{(props) => <input {...props} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
          <Field label="Token scope" help="A project role limits the token to that role's actions in this project.">
            {(props) => (
              <select {...props} value={scope} onChange={(e) => setScope(e.target.value)}>
                <option value="">Everything {account} may do</option>
                {roles.map((r) => (
                  <option key={r} value={roleScope(project, r)}>
                    {r} in {project}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <ExpiryField label="Token expires after" value={expiry} onChange={setExpiry} />
        </div>
        <button type="submit" className="primary">
          Create token for {account}
        </button>
        <ErrorMessage error={error} />
        {created ? (
          <div className="token-made" role="status">
            <p>
              <strong>Copy it now: it is not shown again.</strong> Clients log in as <code>{account}</code> with it as the password, or send{' '}
              <code>Authorization: Bearer &lt;token&gt;</code>.
            </p>
            <p className="token-line">
              <code data-testid="new-token">{created}</code> <CopyButton text={created} label="Copy the token" />
            </p>
          </div>
        ) : null}
      </WriteForm>
    </div>
  )
}
