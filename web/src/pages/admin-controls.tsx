import { useState, type ReactNode } from 'react'
import { ErrorMessage, Loading } from '../components.js'
import { Link, routePath } from '../router.js'

/**
 * The delete button of an admin form, asking for confirmation first (`Delete <what>` → `Yes,
 * delete` / `Cancel`); a refusal goes to `onError`, for the form's error line.
 */
export function ConfirmDelete({ what, name, note, onDelete, onError }: { what: string; name: string; note?: ReactNode; onDelete: () => Promise<void>; onError: (message: string) => void }) {
  const [isConfirming, setConfirming] = useState(false)
  const remove = async () => {
    try {
      await onDelete()
    } catch (e) {
      onError((e as Error).message)
      setConfirming(false)
    }
  }
  if (!isConfirming) {
    return (
      <button type="button" className="danger" onClick={() => setConfirming(true)}>
        Delete {what}
      </button>
    )
  }
  return (
    <span className="confirm" role="group" aria-label={`Confirm deleting ${name}`}>
      Delete {name}?{note ? <> {note}</> : null}{' '}
      <button type="button" className="danger" onClick={remove} autoFocus>
        Yes, delete
      </button>{' '}
      <button type="button" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </span>
  )
}

/** A copy of `set` with `item` added (`on`) or removed. */
export function toggled<T>(set: ReadonlySet<T>, item: T, on: boolean): ReadonlySet<T> {
  const next = new Set(set)
  if (on) next.add(item)
  else next.delete(item)
  return next
}

/** An admin list page's body: loading, its error, what to do when empty, else a link per entry to `/admin/<section>/<name>`. */
export function AdminListing({ section, entries, loading, error, empty }: { section: string; entries: readonly { name: string }[] | undefined; loading: boolean; error: Error | undefined; empty: ReactNode }) {
  return (
    <>
      {loading && !entries ? <Loading /> : null}
      <ErrorMessage error={error} />
      {entries && entries.length === 0 ? <p>{empty}</p> : null}
      {entries && entries.length > 0 ? (
        <ul className={`listing ${section}`}>
          {entries.map((e) => (
            <li key={e.name}>
              <Link to={routePath('admin', section, e.name)}>{e.name}</Link>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  )
}
