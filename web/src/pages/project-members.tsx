import { WriteForm } from '../read-only.js'
import { useState, type FormEvent } from 'react'
import { ErrorMessage, Field, Loading, useAsync } from '../components.js'
import { formatDate } from '../format.js'
import { projectsApi, type UiProject } from '../projects-api.js'
import { useSession } from '../session.js'
import { ServiceAccountTokens } from './service-account-tokens.js'

/** Removes something after a second click on "Yes, …" (no browser dialog). */
export function ConfirmButton({ label, question, confirm, onConfirm }: { label: string; question: string; confirm: string; onConfirm: () => Promise<void> }) {
  const [isAsking, setAsking] = useState(false)
  const [error, setError] = useState<Error | undefined>()
  const [isBusy, setBusy] = useState(false)
  const run = async () => {
    setBusy(true)
    setError(undefined)
    try {
      await onConfirm()
      setAsking(false)
    } catch (err) {
      setError(err as Error)
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      {isAsking ? (
        <span className="confirm" role="group" aria-label={question}>
          {question}{' '}
          <button type="button" className="small danger" onClick={run} disabled={isBusy} autoFocus>
            {confirm}
          </button>{' '}
          <button type="button" className="small" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </span>
      ) : (
        <button type="button" className="small danger" onClick={() => setAsking(true)}>
          {label}
        </button>
      )}
      <ErrorMessage error={error} />
    </>
  )
}

function RoleSelect({ roles, value, onChange, label }: { roles: readonly string[]; value: string; onChange: (role: string) => void; label: string }) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
      {roles.map((r) => (
        <option key={r}>{r}</option>
      ))}
    </select>
  )
}

/** The project's users and groups with their roles; a Project Admin (or admin) adds, changes and removes them. */
export function ProjectMembers({ project }: { project: UiProject }) {
  const key = project.key
  const roles = useAsync(() => projectsApi.roles(key), [key])
  const users = useAsync(() => projectsApi.members(key, 'users'), [key])
  const groups = useAsync(() => projectsApi.members(key, 'groups'), [key])
  const accounts = useAsync(() => projectsApi.serviceAccounts(key), [key])
  const [kind, setKind] = useState<'users' | 'groups'>('users')
  const [name, setName] = useState('')
  const [role, setRole] = useState('Developer')
  const [error, setError] = useState<Error | undefined>()
  const [changeError, setChangeError] = useState<Error | undefined>()
  const canManage = project.manageMembers
  const roleNames = roles.value ?? []
  const accountNames = new Set((accounts.value ?? []).map((a) => a.name))
  const add = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    try {
      await projectsApi.setMember(key, kind, name.trim(), [role])
      setName('')
      ;(kind === 'users' ? users : groups).reload()
    } catch (err) {
      setError(err as Error)
    }
  }
  const change = async (memberKind: 'users' | 'groups', member: string, newRole: string) => {
    setChangeError(undefined)
    try {
      await projectsApi.setMember(key, memberKind, member, [newRole])
      ;(memberKind === 'users' ? users : groups).reload()
    } catch (err) {
      setChangeError(err as Error)
    }
  }
  const rows = [
    ...(users.value ?? []).filter((m) => !accountNames.has(m.name)).map((m) => ({ ...m, kind: 'users' as const })),
    ...(groups.value ?? []).map((m) => ({ ...m, kind: 'groups' as const })),
  ]
  return (
    <>
      <h2>Members</h2>
      {users.loading && !users.value ? <Loading /> : null}
      <ErrorMessage error={users.error ?? groups.error} />
      {rows.length === 0 && users.value ? <p className="empty">No members yet.</p> : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table data-testid="project-members">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Roles</th>
                {canManage ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => (
                <tr key={`${m.kind}:${m.name}`}>
                  <th scope="row">{m.name}</th>
                  <td>{m.kind === 'users' ? 'user' : 'group'}</td>
                  <td>
                    {canManage && roleNames.length > 0 ? (
                      <RoleSelect roles={roleNames} value={m.roles[0] ?? ''} onChange={(r) => change(m.kind, m.name, r)} label={`Role of ${m.name}`} />
                    ) : (
                      m.roles.join(', ')
                    )}
                  </td>
                  {canManage ? (
                    <td>
                      <ConfirmButton label={`Remove ${m.name}`} question={`Remove ${m.name} from ${key}?`} confirm="Yes, remove" onConfirm={async () => {
                        await projectsApi.removeMember(key, m.kind, m.name)
                        ;(m.kind === 'users' ? users : groups).reload()
                      }} />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ErrorMessage error={changeError} />
      {canManage ? (
        <WriteForm className="card" onSubmit={add} aria-label="Add a member">
          <h3>Add a member</h3>
          <div className="inline-fields">
            <Field label="Member kind">
              {(props) => (
                <select {...props} value={kind} onChange={(e) => setKind(e.target.value as 'users' | 'groups')}>
                  <option value="users">user</option>
                  <option value="groups">group</option>
                </select>
              )}
            </Field>
            <Field label="Member name">{(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
            <Field label="Role">
              {(props) => (
                <select {...props} value={role} onChange={(e) => setRole(e.target.value)}>
                  {roleNames.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <button type="submit" className="primary">
            Add member
          </button>
          <ErrorMessage error={error} />
        </WriteForm>
      ) : null}
    </>
  )
}

/** The project's service accounts (token-only users); a Project Admin creates and deletes them and manages their tokens. */
export function ServiceAccounts({ project }: { project: UiProject }) {
  const key = project.key
  const { me } = useSession()
  const accounts = useAsync(() => projectsApi.serviceAccounts(key), [key])
  const roles = useAsync(() => projectsApi.roles(key), [key])
  const [name, setName] = useState(`${key}-ci`)
  const [role, setRole] = useState('Developer')
  const [error, setError] = useState<Error | undefined>()
  const canManage = project.manageMembers
  const create = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    try {
      await projectsApi.putServiceAccount(key, name.trim(), [role])
      accounts.reload()
    } catch (err) {
      setError(err as Error)
    }
  }
  const list = accounts.value ?? []
  return (
    <>
      <h2>Service accounts</h2>
      <p>Service accounts have no password: CI jobs use their tokens. {canManage ? '' : 'A Project Admin of this project manages them.'}</p>
      <ErrorMessage error={accounts.error} />
      {accounts.value && list.length === 0 ? <p className="empty">No service accounts yet.</p> : null}
      {list.map((a) => (
        <article key={a.name} className="card" aria-label={`Service account ${a.name}`} data-testid={`service-account-${a.name}`}>
          <h3>{a.name}</h3>
          <p>
            Roles: {a.roles.join(', ') || '—'} · created {formatDate(a.created)}{' '}
            {canManage ? (
              <ConfirmButton label={`Delete ${a.name}`} question={`Delete ${a.name} and revoke its tokens?`} confirm="Yes, delete" onConfirm={async () => {
                await projectsApi.deleteServiceAccount(key, a.name)
                accounts.reload()
              }} />
            ) : null}
          </p>
          {canManage || me.name === a.name ? <ServiceAccountTokens project={key} account={a.name} roles={roles.value ?? []} /> : null}
        </article>
      ))}
      {canManage ? (
        <WriteForm className="card" onSubmit={create} aria-label="Create a service account">
          <h3>Create a service account</h3>
          <div className="inline-fields">
            <Field label="Service account name">{(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
            <Field label="Service account role">
              {(props) => (
                <select {...props} value={role} onChange={(e) => setRole(e.target.value)}>
                  {(roles.value ?? []).map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <button type="submit" className="primary">
            Create service account
          </button>
          <ErrorMessage error={error} />
        </WriteForm>
      ) : null}
    </>
  )
}
