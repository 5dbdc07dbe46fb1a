import { useState } from 'react'
import type { FederationMemberStatus, FederationStatus } from '../../../src/api/federation.js'
import { ApiError, getJson, send } from '../api.js'
import { ErrorMessage, Loading, useAsync } from '../components.js'
import { formatDate } from '../format.js'
import { useSession } from '../session.js'

/**
 * The members of a federated repository (docs/federation.md): each one's state, backlog, lag,
 * last error and last full sync, with pause/resume and full sync for whoever may manage the
 * repository. Shown to those only (the status call answers 403 to others).
 */
export function FederationPanel({ repoKey, rclass }: { repoKey: string; rclass: string | undefined }) {
  if (rclass !== 'federated') return null
  return <Members repoKey={repoKey} />
}

function Members({ repoKey }: { repoKey: string }) {
  const { readOnly } = useSession()
  const { value, error, loading, reload } = useAsync((signal) => getJson<FederationStatus>(statusUrl('status', repoKey), { signal }), [repoKey])
  const [actionError, setActionError] = useState<Error>()
  if (error instanceof ApiError && error.status === 403) return null
  const act = async (verb: 'pause' | 'resume' | 'fullSync', member: string) => {
    setActionError(undefined)
    try {
      await send('POST', `${statusUrl(verb, repoKey)}?member=${encodeURIComponent(member)}`)
      reload()
    } catch (err) {
      setActionError(err as Error)
    }
  }
  return (
    <section className="federation" aria-labelledby="federation-heading" data-testid="federation-status">
      <h2 id="federation-heading">Federation members</h2>
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error ?? actionError} />
      {value ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">State</th>
              <th scope="col">Backlog</th>
              <th scope="col">Lag</th>
              <th scope="col">Last error</th>
              <th scope="col">Last full sync</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {value.members.map((m) => (
              <MemberRow key={m.url} member={m} disabled={readOnly?.enabled === true} act={act} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  )
}

function MemberRow({ member: m, disabled, act }: { member: FederationMemberStatus; disabled: boolean; act: (verb: 'pause' | 'resume' | 'fullSync', member: string) => Promise<void> }) {
  return (
    <tr data-member={m.url}>
      <td className="wrap">{m.url}</td>
      <td data-testid="member-state">{m.state}</td>
      <td>{m.backlog}</td>
      <td>{m.lagSeconds} s</td>
      <td className="wrap">{m.lastError ? `${m.lastError}${m.lastErrorAt ? ` (${formatDate(m.lastErrorAt)})` : ''}` : '—'}</td>
      <td>{m.lastFullSync ? formatDate(m.lastFullSync) : 'never'}</td>
      <td>
        <button type="button" disabled={disabled} onClick={() => void act(m.state === 'paused' ? 'resume' : 'pause', m.url)} aria-label={`${m.state === 'paused' ? 'Resume' : 'Pause'} ${m.url}`}>
          {m.state === 'paused' ? 'Resume' : 'Pause'}
        </button>{' '}
        <button type="button" disabled={disabled} onClick={() => void act('fullSync', m.url)} aria-label={`Full sync with ${m.url}`}>
          Full sync
        </button>
      </td>
    </tr>
  )
}

const statusUrl = (verb: string, repoKey: string) => `/artifactory/api/federation/${verb}/${encodeURIComponent(repoKey)}`
