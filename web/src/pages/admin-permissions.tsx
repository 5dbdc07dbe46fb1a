import { useEffect, useState, type FormEvent } from 'react'
import { api, type PermissionTargetBody } from '../api.js'
import { Checkbox, ErrorMessage, Field, focusFirstInvalid, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { fieldErrors, type FieldErrors } from '../field-errors.js'
import { WriteForm } from '../read-only.js'
import { Link, navigate, routePath } from '../router.js'
import { AdminListing, ConfirmDelete, toggled } from './admin-controls.js'

/** Permission targets (Artifactory's v2 API): actions on repositories outside projects, for users and groups. */
export function AdminPermissionsPage() {
  useTitle('Permission targets')
  const { value: targets, error, loading } = useAsync(() => api.permissions(), [])
  return (
    <section>
      <PageHeader title="Permission targets">
        <Link to="/admin/permissions/new" className="button primary">
          Create a permission target
        </Link>
      </PageHeader>
      <p>A permission target gives users and groups actions on repositories outside projects, on the paths its patterns allow. Projects grant their own repositories by role.</p>
      <AdminListing section="permissions" entries={targets} loading={loading} error={error} empty="No permission targets yet: only administrators and project members reach repositories." />
    </section>
  )
}

/** The action words of the v2 API, as the form offers them. */
const ACTIONS = [
  ['read', 'Read'],
  ['annotate', 'Annotate'],
  ['write', 'Deploy'],
  ['delete', 'Delete'],
  ['manage', 'Manage'],
] as const
const PSEUDO_REPOSITORIES = ['ANY', 'ANY LOCAL', 'ANY REMOTE'] as const
const TARGET_FIELDS = ['name', 'repo'] as const

type Grants = Readonly<Record<string, readonly string[]>>

const splitList = (text: string) =>
  text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '')

export function PermissionFormPage({ targetName }: { targetName?: string }) {
  const isNew = targetName === undefined
  useTitle(isNew ? 'Create a permission target' : `Permission target ${targetName}`)
  const existing = useAsync(async () => (isNew ? undefined : api.permission(targetName)), [targetName])
  const choices = useAsync(async () => {
    const [repositories, users, groups] = await Promise.all([api.repositories(), api.users(), api.groups()])
    return { repositories: repositories.map((r) => r.key), users: users.map((u) => u.name), groups: groups.map((g) => g.name) }
  }, [])
  const [name, setName] = useState('')
  const [repositories, setRepositories] = useState<ReadonlySet<string>>(new Set())
  const [include, setInclude] = useState('**')
  const [exclude, setExclude] = useState('')
  const [users, setUsers] = useState<Grants>({})
  const [groups, setGroups] = useState<Grants>({})
  const [errors, setErrors] = useState<FieldErrors>({ fields: {} })
  const [saved, setSaved] = useState<string | undefined>()
  useEffect(() => {
    const target = existing.value
    if (!target) return
    setName(target.name)
    setRepositories(new Set(target.repo.repositories))
    setInclude(target.repo['include-patterns'].join(', '))
    setExclude(target.repo['exclude-patterns'].join(', '))
    setUsers(target.repo.actions.users)
    setGroups(target.repo.actions.groups)
  }, [existing.value])

  const toggleRepository = (key: string, on: boolean) => setRepositories(toggled(repositories, key, on))

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setSaved(undefined)
    if (isNew && name.trim() === '') {
      setErrors({ fields: { name: 'A name is required.' } })
      focusFirstInvalid()
      return
    }
    const nonEmpty = (grants: Grants) => Object.fromEntries(Object.entries(grants).filter(([, actions]) => actions.length > 0))
    const body: PermissionTargetBody = {
      name: isNew ? name.trim() : targetName,
      repo: {
        repositories: [...repositories],
        'include-patterns': splitList(include),
        'exclude-patterns': splitList(exclude),
        actions: { users: nonEmpty(users), groups: nonEmpty(groups) },
      },
    }
    try {
      await (isNew ? api.createPermission(body) : api.replacePermission(body))
      setErrors({ fields: {} })
      if (isNew) navigate(routePath('admin', 'permissions', body.name))
      else setSaved(`Saved ${targetName}.`)
    } catch (e) {
      setErrors(fieldErrors(e, TARGET_FIELDS))
      focusFirstInvalid()
    }
  }

  if (!isNew && existing.loading && !existing.value) return <Loading />
  if (!isNew && existing.error) return <ErrorMessage error={existing.error} />
  return (
    <section>
      <PageHeader title={isNew ? 'Create a permission target' : `Permission target ${targetName}`} />
      <WriteForm className="card" onSubmit={submit} noValidate>
        {errors.general ? (
          <p className="error" role="alert">
            {errors.general}
          </p>
        ) : null}
        <Field label="Name" error={errors.fields.name}>
          {(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} disabled={!isNew} autoComplete="off" />}
        </Field>
        {choices.loading && !choices.value ? <Loading /> : null}
        <ErrorMessage error={choices.error} />
        <fieldset>
          <legend>Repositories</legend>
          {[...PSEUDO_REPOSITORIES, ...(choices.value?.repositories ?? [])].map((key) => (
            <Checkbox key={key} label={pseudoLabel(key)} checked={repositories.has(key)} onChange={(on) => toggleRepository(key, on)} />
          ))}
          {errors.fields.repo ? (
            <small className="field-error" role="alert">
              {errors.fields.repo}
            </small>
          ) : null}
        </fieldset>
        <Field label="Include patterns" help="Paths the target covers, comma-separated, relative to the repository root (** is every path).">
          {(props) => <input {...props} value={include} onChange={(e) => setInclude(e.target.value)} />}
        </Field>
        <Field label="Exclude patterns" help="Paths left out even when an include pattern matches.">
          {(props) => <input {...props} value={exclude} onChange={(e) => setExclude(e.target.value)} />}
        </Field>
        <GrantTable kind="Users" names={choices.value?.users ?? []} grants={users} onChange={setUsers} />
        <GrantTable kind="Groups" names={choices.value?.groups ?? []} grants={groups} onChange={setGroups} />
        <div className="form-actions">
          <button type="submit" className="primary">
            {isNew ? 'Create permission target' : 'Save changes'}
          </button>
          <Link to="/admin/permissions" className="button">
            Back to permission targets
          </Link>
          {!isNew ? (
            <ConfirmDelete what="permission target" name={targetName} note="What it grants ends now." onDelete={() => api.deletePermission(targetName).then(() => navigate('/admin/permissions'))} onError={(general) => setErrors({ fields: {}, general })} />
          ) : null}
        </div>
        {saved ? <p role="status">{saved}</p> : null}
      </WriteForm>
    </section>
  )
}

function pseudoLabel(key: string): string {
  if (key === 'ANY') return 'ANY (every repository outside projects)'
  if (key === 'ANY LOCAL') return 'ANY LOCAL (every local repository outside projects)'
  if (key === 'ANY REMOTE') return 'ANY REMOTE (every remote repository outside projects)'
  return key
}

/** One row per user or group, one checkbox per action, each labelled "User <name>: <action>" (or Group). */
function GrantTable({ kind, names, grants, onChange }: { kind: 'Users' | 'Groups'; names: readonly string[]; grants: Grants; onChange: (grants: Grants) => void }) {
  // Names the target grants to but which the lists lack still show, so saving keeps them.
  const rows = [...new Set([...names, ...Object.keys(grants)])].sort()
  const toggle = (name: string, action: string, on: boolean) => {
    const current = new Set(grants[name] ?? [])
    if (on) current.add(action)
    else current.delete(action)
    onChange({ ...grants, [name]: ACTIONS.map(([a]) => a).filter((a) => current.has(a)) })
  }
  return (
    <fieldset>
      <legend>{kind} and their actions</legend>
      {rows.length === 0 ? (
        <p>None yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{kind === 'Users' ? 'User' : 'Group'}</th>
                {ACTIONS.map(([word, label]) => (
                  <th scope="col" key={word}>
                    {label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((name) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  {ACTIONS.map(([word, label]) => (
                    <td key={word}>
                      <input type="checkbox" aria-label={`${kind === 'Users' ? 'User' : 'Group'} ${name}: ${label}`} checked={grants[name]?.includes(word) ?? false} onChange={(e) => toggle(name, word, e.target.checked)} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </fieldset>
  )
}
