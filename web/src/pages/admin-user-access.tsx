import { useEffect, useState, type FormEvent } from 'react'
import { api } from '../api.js'
import { Checkbox, ErrorMessage, Loading, useAsync } from '../components.js'
import { projectsApi } from '../projects-api.js'
import { WriteForm } from '../read-only.js'
import { Link, routePath } from '../router.js'
import { toggled } from './admin-controls.js'
import { formatDate } from '../format.js'

/**
 * A user's groups (editable: each changed group is saved through the groups API with its new
 * members) and project roles (read: directly and through the user's groups), on the user's page.
 */
export function UserAccess({ userName }: { userName: string }) {
  const [version, setVersion] = useState(0)
  const groups = useAsync(async () => Promise.all((await api.groups()).map((g) => api.group(g.name))), [version])
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set())
  const [error, setError] = useState<string | undefined>()
  const [saved, setSaved] = useState<string | undefined>()
  const memberOf = (list: typeof groups.value) => new Set((list ?? []).filter((g) => g.userNames.includes(userName)).map((g) => g.name))
  useEffect(() => setChosen(memberOf(groups.value)), [groups.value])

  const toggle = (name: string, on: boolean) => setChosen(toggled(chosen, name, on))
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setSaved(undefined)
    setError(undefined)
    try {
      for (const group of groups.value ?? []) {
        const isIn = group.userNames.includes(userName)
        if (isIn === chosen.has(group.name)) continue
        const userNames = chosen.has(group.name) ? [...group.userNames, userName] : group.userNames.filter((u) => u !== userName)
        await api.updateGroup(group.name, { userNames })
      }
      setSaved(`Saved the groups of ${userName}.`)
    } catch (e) {
      setError((e as Error).message)
    }
    setVersion((v) => v + 1)
  }

  return (
    <>
      <h2>Groups</h2>
      {groups.loading && !groups.value ? <Loading /> : null}
      <ErrorMessage error={groups.error} />
      {groups.value?.length === 0 ? (
        <p>
          No groups yet: <Link to="/admin/groups/new">create one</Link>.
        </p>
      ) : null}
      {groups.value && groups.value.length > 0 ? (
        <WriteForm className="card" onSubmit={submit} aria-label={`Groups of ${userName}`}>
          {error ? (
            <p className="error" role="alert">
              {error}
            </p>
          ) : null}
          <fieldset>
            <legend>Member of</legend>
            {groups.value.map((g) => (
              <Checkbox key={g.name} label={`Group ${g.name}`} checked={chosen.has(g.name)} onChange={(on) => toggle(g.name, on)} />
            ))}
          </fieldset>
          <p className="muted">Groups a single sign-on provider reports at login are added at each login and are not listed here.</p>
          <div className="form-actions">
            <button type="submit">Save groups</button>
          </div>
          {saved ? <p role="status">{saved}</p> : null}
        </WriteForm>
      ) : null}
      <ProjectRoles userName={userName} groups={memberOf(groups.value)} />
      <SsoIdentities userName={userName} />
    </>
  )
}

/** The user's roles in each project: their own and those of their groups (as saved). */
function ProjectRoles({ userName, groups }: { userName: string; groups: ReadonlySet<string> }) {
  const groupKey = [...groups].sort().join(',')
  const roles = useAsync(async () => {
    const projects = await projectsApi.list()
    const rows = await Promise.all(
      projects.map(async (p) => {
        const [users, groupMembers] = await Promise.all([projectsApi.members(p.key, 'users'), projectsApi.members(p.key, 'groups')])
        const own = users.find((u) => u.name === userName)?.roles ?? []
        const through = groupMembers.filter((g) => groups.has(g.name)).map((g) => ({ group: g.name, roles: g.roles }))
        return { key: p.key, own, through }
      }),
    )
    return rows.filter((r) => r.own.length > 0 || r.through.length > 0)
  }, [userName, groupKey])
  return (
    <>
      <h2>Project roles</h2>
      {roles.loading && !roles.value ? <Loading /> : null}
      <ErrorMessage error={roles.error} />
      {roles.value?.length === 0 ? <p>No project roles. A project's admins add members on the project's page.</p> : null}
      {roles.value && roles.value.length > 0 ? (
        <div className="table-wrap">
          <table aria-label={`Project roles of ${userName}`}>
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Roles</th>
                <th scope="col">Through groups</th>
              </tr>
            </thead>
            <tbody>
              {roles.value.map((r) => (
                <tr key={r.key}>
                  <th scope="row">
                    <Link to={routePath('projects', r.key)}>{r.key}</Link>
                  </th>
                  <td>{r.own.join(', ') || '—'}</td>
                  <td>{r.through.map((t) => `${t.roles.join(', ')} (group ${t.group})`).join('; ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  )
}

/** The single sign-on identities that sign in as the user, with the groups each provider reported last. */
function SsoIdentities({ userName }: { userName: string }) {
  const identities = useAsync(() => api.ssoIdentities(userName), [userName])
  const list = identities.value?.identities
  return (
    <>
      <h2>Single sign-on</h2>
      {identities.loading && !list ? <Loading /> : null}
      <ErrorMessage error={identities.error} />
      {list?.length === 0 ? <p>No single sign-on identity: this user signs in with a password or tokens only.</p> : null}
      {list && list.length > 0 ? (
        <div className="table-wrap">
          <table aria-label={`Single sign-on identities of ${userName}`}>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Subject</th>
                <th scope="col">Email</th>
                <th scope="col">Groups at the last sign-in</th>
                <th scope="col">Last sign-in</th>
              </tr>
            </thead>
            <tbody>
              {list.map((i) => (
                <tr key={`${i.provider}/${i.subject}`}>
                  <th scope="row">{i.provider}</th>
                  <td className="wrap">{i.subject}</td>
                  <td className="wrap">{i.email ?? '—'}</td>
                  <td>{i.groups.join(', ') || '—'}</td>
                  <td>{formatDate(i.lastLoginAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  )
}
