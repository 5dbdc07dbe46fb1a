import { WriteForm } from '../read-only.js'
import { useState, type FormEvent } from 'react'
import { api } from '../api.js'
import { ErrorMessage, Loading, useAsync } from '../components.js'
import { useSession } from '../session.js'

/**
 * A file's properties, with an editor where they can be changed: not through a virtual repository
 * (it stores no files; the server answers 405), nor before the repository's class is known.
 */
export function Properties({ repoKey, path, repositoryClass, onChanged }: { repoKey: string; path: string; repositoryClass: string | undefined; onChanged: () => void }) {
  const { readOnly } = useSession()
  const isVirtual = repositoryClass === 'virtual'
  // Offered only to who may annotate here: others read the properties and are told why they cannot change them.
  const { value: actions } = useAsync(() => api.actions(repoKey, path), [repoKey, path])
  const mayAnnotate = actions?.has('annotate') === true
  const isEditable = repositoryClass !== undefined && !isVirtual && mayAnnotate
  const { value: properties, error, loading, reload } = useAsync(() => api.properties(repoKey, path), [repoKey, path])
  const [editing, setEditing] = useState<string | undefined>()
  const [actionError, setActionError] = useState<{ name: string; message: string } | undefined>()
  const entries = Object.entries(properties ?? {}).sort(([a], [b]) => a.localeCompare(b))

  const save = async (name: string, values: string[]) => {
    setActionError(undefined)
    try {
      await api.setProperty(repoKey, path, name, values)
      setEditing(undefined)
      reload()
      onChanged()
      return true
    } catch (err) {
      setActionError({ name, message: (err as Error).message })
      return false
    }
  }
  const remove = async (name: string) => {
    setActionError(undefined)
    try {
      await api.deleteProperty(repoKey, path, name)
      reload()
    } catch (err) {
      setActionError({ name, message: (err as Error).message })
    }
  }

  return (
    <section aria-labelledby="properties-heading">
      <h3 id="properties-heading">Properties</h3>
      {loading && !properties ? <Loading /> : null}
      <ErrorMessage error={error} />
      {isVirtual ? (
        <p className="muted" data-testid="virtual-properties-note">
          Read from the member repository that stores this file; change them there, not through the virtual repository.
        </p>
      ) : null}
      {actions && !mayAnnotate && !isVirtual ? (
        <p className="muted" data-testid="properties-permission-note">
          Changing properties needs the annotate permission on {repoKey}; ask a Project Admin or an administrator.
        </p>
      ) : null}
      {properties && entries.length === 0 ? <p className="muted">{isEditable ? 'No properties. Add one below, e.g. build.number = 42.' : 'No properties.'}</p> : null}
      {entries.length > 0 ? (
        <table className="properties">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Values</th>
              {isEditable ? (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {entries.map(([name, values]) =>
              editing === name ? (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td colSpan={2}>
                    <PropertyEditor
                      name={name}
                      initial={values}
                      onSave={(v) => save(name, v)}
                      onCancel={() => setEditing(undefined)}
                      error={actionError?.name === name ? actionError.message : undefined}
                    />
                  </td>
                </tr>
              ) : (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td data-property={name}>{values.join(', ')}</td>
                  {isEditable ? (
                    <td className="row-actions">
                      <button type="button" className="small" onClick={() => setEditing(name)} disabled={readOnly?.enabled} aria-label={`Edit ${name}`}>
                        Edit
                      </button>
                      <button type="button" className="small" onClick={() => remove(name)} disabled={readOnly?.enabled} aria-label={`Delete ${name}`}>
                        Delete
                      </button>
                      {actionError?.name === name ? <ErrorMessage error={actionError.message} /> : null}
                    </td>
                  ) : null}
                </tr>
              ),
            )}
          </tbody>
        </table>
      ) : null}
      {isEditable ? (
        <AddProperty onAdd={save} error={actionError && !(properties && actionError.name in properties) ? actionError.message : undefined} disabled={readOnly?.enabled === true} />
      ) : null}
    </section>
  )
}

function PropertyEditor({
  name,
  initial,
  onSave,
  onCancel,
  error,
}: {
  name: string
  initial: readonly string[]
  onSave: (values: string[]) => Promise<boolean>
  onCancel: () => void
  error?: string | undefined
}) {
  const [text, setText] = useState(initial.join(', '))
  const submit = (event: FormEvent) => {
    event.preventDefault()
    void onSave(splitValues(text))
  }
  return (
    <WriteForm className="inline-form" onSubmit={submit}>
      <label htmlFor={`edit-${name}`} className="visually-hidden">
        Values of {name}, separated by commas
      </label>
      <input id={`edit-${name}`} value={text} onChange={(e) => setText(e.target.value)} autoFocus />
      <button type="submit" className="small primary">
        Save
      </button>
      <button type="button" className="small" onClick={onCancel}>
        Cancel
      </button>
      <ErrorMessage error={error} />
    </WriteForm>
  )
}

function AddProperty({ onAdd, error, disabled }: { onAdd: (name: string, values: string[]) => Promise<boolean>; error?: string | undefined; disabled: boolean }) {
  const [name, setName] = useState('')
  const [values, setValues] = useState('')
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (await onAdd(name.trim(), splitValues(values))) {
      setName('')
      setValues('')
    }
  }
  return (
    <WriteForm className="inline-form add-property" onSubmit={submit} aria-label="Add a property">
      <div className="field inline">
        <label htmlFor="property-name">Name</label>
        <input id="property-name" value={name} onChange={(e) => setName(e.target.value)} required />
      </div>
      <div className="field inline">
        <label htmlFor="property-values">Values (comma-separated)</label>
        <input id="property-values" value={values} onChange={(e) => setValues(e.target.value)} />
      </div>
      <button type="submit" className="small" disabled={disabled || name.trim() === ''}>
        Add property
      </button>
      <ErrorMessage error={error} />
    </WriteForm>
  )
}

function splitValues(text: string): string[] {
  const values = text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
  return values.length > 0 ? values : ['']
}
