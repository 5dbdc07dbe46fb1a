import { useEffect, useState, type FormEvent } from 'react'
import { api, ApiError } from '../api.js'
import { Checkbox, ErrorMessage, Field, focusFirstInvalid, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { fieldErrors, type FieldErrors } from '../field-errors.js'
import { WriteForm } from '../read-only.js'
import { Link, navigate, routePath } from '../router.js'
import { AdminListing, ConfirmDelete, toggled } from './admin-controls.js'

/** Groups (Artifactory's groups API): who is in each; permission targets and projects grant to them. */
export function AdminGroupsPage() {
  useTitle('Groups')
  const { value: groups, error, loading } = useAsync(() => api.groups(), [])
  return (
    <section>
      <PageHeader title="Groups">
        <Link to="/admin/groups/new" className="button primary">
          Create a group
        </Link>
      </PageHeader>
      <p>
        Give a group access to repositories with a <Link to="/admin/permissions">permission target</Link>.
      </p>
      <AdminListing section="groups" entries={groups} loading={loading} error={error} empty="No groups yet. Create one, then add users to it." />
    </section>
  )
}

const GROUP_FIELDS = ['name', 'description', 'userNames'] as const

export function GroupFormPage({ groupName }: { groupName?: string }) {
  const isNew = groupName === undefined
  useTitle(isNew ? 'Create a group' : `Group ${groupName}`)
  const existing = useAsync(async () => (isNew ? undefined : api.group(groupName)), [groupName])
  const users = useAsync(() => api.users(), [])
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const [members, setMembers] = useState<ReadonlySet<string>>(new Set())
  const [errors, setErrors] = useState<FieldErrors>({ fields: {} })
  const [saved, setSaved] = useState<string | undefined>()
  useEffect(() => {
    const group = existing.value
    if (!group) return
    setName(group.name)
    setDescription(group.description ?? '')
    setMembers(new Set(group.userNames))
  }, [existing.value])

  const toggle = (user: string, on: boolean) => setMembers(toggled(members, user, on))

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setSaved(undefined)
    const trimmed = name.trim()
    if (isNew && trimmed === '') {
      setErrors({ fields: { name: 'A group name is required.' } })
      focusFirstInvalid()
      return
    }
    const body = { description, userNames: [...members].sort() }
    try {
      if (isNew) {
        // The groups API replaces a group on PUT: ask first, so creating never overwrites one.
        if (await groupExists(trimmed)) {
          setErrors({ fields: { name: `A group named '${trimmed}' already exists; pick another name or edit it.` } })
          focusFirstInvalid()
          return
        }
        await api.putGroup(trimmed, body)
        navigate(routePath('admin', 'groups', trimmed))
      } else {
        await api.updateGroup(groupName, body)
        setErrors({ fields: {} })
        setSaved(`Saved ${groupName}.`)
      }
    } catch (e) {
      setErrors(fieldErrors(e, GROUP_FIELDS))
      focusFirstInvalid()
    }
  }

  if (!isNew && existing.loading && !existing.value) return <Loading />
  if (!isNew && existing.error) return <ErrorMessage error={existing.error} />
  return (
    <section>
      <PageHeader title={isNew ? 'Create a group' : `Group ${groupName}`} />
      <WriteForm className="card" onSubmit={submit} noValidate>
        {errors.general ? (
          <p className="error" role="alert">
            {errors.general}
          </p>
        ) : null}
        <Field label="Group name" error={errors.fields.name}>
          {(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} disabled={!isNew} autoComplete="off" />}
        </Field>
        <Field label="Description" error={errors.fields.description}>
          {(props) => <input {...props} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        <fieldset className="members">
          <legend>Members</legend>
          {users.loading && !users.value ? <Loading label="Loading users…" /> : null}
          <ErrorMessage error={users.error} />
          {users.value?.length === 0 ? <p>No users yet.</p> : null}
          {users.value?.map((u) => <Checkbox key={u.name} label={u.name} checked={members.has(u.name)} onChange={(on) => toggle(u.name, on)} />)}
          {errors.fields.userNames ? (
            <small className="field-error" role="alert">
              {errors.fields.userNames}
            </small>
          ) : null}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="primary">
            {isNew ? 'Create group' : 'Save changes'}
          </button>
          <Link to="/admin/groups" className="button">
            Back to groups
          </Link>
          {!isNew ? (
            <ConfirmDelete what="group" name={groupName} note="Its members keep their accounts; what was granted to the group ends." onDelete={() => api.deleteGroup(groupName).then(() => navigate('/admin/groups'))} onError={(general) => setErrors({ fields: {}, general })} />
          ) : null}
        </div>
        {saved ? <p role="status">{saved}</p> : null}
      </WriteForm>
    </section>
  )
}

async function groupExists(name: string): Promise<boolean> {
  try {
    await api.group(name)
    return true
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return false
    throw e
  }
}
