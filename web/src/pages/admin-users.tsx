import { WriteForm } from '../read-only.js'
import { useEffect, useState, type FormEvent } from 'react'
import type { UserRequest } from '../../../src/api/security.js'
import { api } from '../api.js'
import { Checkbox, ErrorMessage, Field, focusFirstInvalid, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { fieldErrors, type FieldErrors } from '../field-errors.js'
import { Link, navigate, routePath } from '../router.js'
import { ConfirmDelete } from './admin-controls.js'
import { useSession } from '../session.js'
import { UserAccess } from './admin-user-access.js'

export function AdminUsersPage() {
  useTitle('Users')
  const { value: users, error, loading } = useAsync(() => api.users(), [])
  return (
    <section>
      <PageHeader title="Users">
        <Link to="/admin/users/new" className="button primary">
          Create a user
        </Link>
      </PageHeader>
      <p>
        Their tokens are listed under <Link to="/tokens">Tokens</Link>.
      </p>
      {loading && !users ? <Loading /> : null}
      <ErrorMessage error={error} />
      {users ? (
        <ul className="listing users">
          {users.map((u) => (
            <li key={u.name}>
              <Link to={routePath('admin', 'users', u.name)}>{u.name}</Link>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  )
}

const USER_FIELDS = ['name', 'email', 'password', 'admin', 'disabled'] as const

export function UserFormPage({ userName }: { userName?: string }) {
  const isNew = userName === undefined
  useTitle(isNew ? 'Create a user' : `User ${userName}`)
  const { me } = useSession()
  const existing = useAsync(async () => (isNew ? undefined : api.user(userName)), [userName])
  const [name, setName] = useState('')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [isAdmin, setAdmin] = useState(false)
  const [isDisabled, setDisabled] = useState(false)
  const [errors, setErrors] = useState<FieldErrors>({ fields: {} })
  const [saved, setSaved] = useState<string | undefined>()
  useEffect(() => {
    const user = existing.value
    if (!user) return
    setName(user.name)
    setEmail(user.email ?? '')
    setAdmin(user.admin)
    setDisabled(user.disabled === true)
  }, [existing.value])

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setSaved(undefined)
    const local: Record<string, string> = {}
    if (isNew && name.trim() === '') local.name = 'A user name is required.'
    if (isNew && password.length < 8) local.password = 'A password needs at least 8 characters.'
    if (Object.keys(local).length > 0) {
      setErrors({ fields: local })
      focusFirstInvalid()
      return
    }
    const body: UserRequest = { email: email.trim() || undefined, admin: isAdmin, disabled: isDisabled, ...(password ? { password } : {}) }
    try {
      await (isNew ? api.putUser(name.trim(), body) : api.updateUser(userName, body))
      setErrors({ fields: {} })
      setPassword('')
      if (isNew) navigate(routePath('admin', 'users', name.trim()))
      else setSaved(`Saved ${userName}.`)
    } catch (e) {
      setErrors(fieldErrors(e, USER_FIELDS))
      focusFirstInvalid()
    }
  }

  if (!isNew && existing.loading && !existing.value) return <Loading />
  if (!isNew && existing.error) return <ErrorMessage error={existing.error} />
  return (
    <section>
      <PageHeader title={isNew ? 'Create a user' : `User ${userName}`} />
      <WriteForm className="card" onSubmit={submit} noValidate>
        {errors.general ? (
          <p className="error" role="alert">
            {errors.general}
          </p>
        ) : null}
        <Field label="User name" error={errors.fields.name}>
          {(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} disabled={!isNew} autoComplete="off" />}
        </Field>
        <Field label="Email" error={errors.fields.email}>
          {(props) => <input {...props} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label={isNew ? 'Password' : 'New password'} error={errors.fields.password} help={isNew ? 'At least 8 characters.' : 'Leave empty to keep the current one.'}>
          {(props) => <input {...props} type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />}
        </Field>
        <Checkbox label="System administrator" checked={isAdmin} onChange={setAdmin} error={errors.fields.admin} />
        <Checkbox label="Disabled: may not log in, and its tokens stop working" checked={isDisabled} onChange={setDisabled} error={errors.fields.disabled} />
        <div className="form-actions">
          <button type="submit" className="primary">
            {isNew ? 'Create user' : 'Save changes'}
          </button>
          <Link to="/admin/users" className="button">
            Back to users
          </Link>
          {!isNew && userName !== me.name ? (
            <ConfirmDelete what="user" name={userName} onDelete={() => api.deleteUser(userName).then(() => navigate('/admin/users'))} onError={(general) => setErrors({ fields: {}, general })} />
          ) : null}
        </div>
        {saved ? <p role="status">{saved}</p> : null}
      </WriteForm>
      {isNew ? null : <UserAccess userName={userName} />}
    </section>
  )
}
