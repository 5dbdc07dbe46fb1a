import { useId, useState } from 'react'
import { api } from '../api.js'
import { useAsync } from '../components.js'

/**
 * A virtual repository's members as an ordered list: add one of the repositories of the same
 * package type, move members up and down (the order resolution follows), remove them. `value` is
 * the keys separated by commas, as the form keeps them.
 */
export function MemberPicker({ value, onChange, packageType, self, error }: { value: string; onChange: (value: string) => void; packageType: string; self: string; error?: string | undefined }) {
  const members = value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '')
  const { value: candidates } = useAsync(async () => (await api.repositories()).filter((r) => r.packageType === packageType && r.key !== self), [packageType, self])
  const [choice, setChoice] = useState('')
  const selectId = useId()
  const set = (next: string[]) => onChange(next.join(','))
  const move = (i: number, by: number) => {
    const next = [...members]
    const [moved] = next.splice(i, 1)
    next.splice(i + by, 0, moved!)
    set(next)
  }
  const addable = (candidates ?? []).filter((r) => !members.includes(r.key))
  return (
    <div className={`field member-picker${error ? ' invalid' : ''}`}>
      <ol aria-label="Members, in the order they are asked" data-testid="members">
        {members.map((key, i) => (
          <li key={key}>
            <span className="wrap">{key}</span>{' '}
            <button type="button" className="small" onClick={() => move(i, -1)} disabled={i === 0} aria-label={`Move ${key} up`}>
              Up
            </button>
            <button type="button" className="small" onClick={() => move(i, 1)} disabled={i === members.length - 1} aria-label={`Move ${key} down`}>
              Down
            </button>
            <button type="button" className="small" onClick={() => set(members.filter((k) => k !== key))} aria-label={`Remove ${key}`}>
              Remove
            </button>
          </li>
        ))}
      </ol>
      {members.length === 0 ? <p className="muted">No members yet: add the repositories it should look in, in order.</p> : null}
      <div className="inline-form">
        <label htmlFor={selectId}>Add a member</label>
        <select id={selectId} value={choice} onChange={(e) => setChoice(e.target.value)}>
          <option value="">Choose a repository…</option>
          {addable.map((r) => (
            <option key={r.key} value={r.key}>
              {r.key} ({r.rclass})
            </option>
          ))}
        </select>
        <button
          type="button"
          onClick={() => {
            if (choice) set([...members, choice])
            setChoice('')
          }}
          disabled={!choice}
        >
          Add
        </button>
      </div>
      {error ? (
        <small className="field-error" role="alert">
          {error}
        </small>
      ) : null}
    </div>
  )
}
