import { WriteForm } from '../read-only.js'
import { MemberPicker } from './member-picker.js'
import { useEffect, useState, type FormEvent } from 'react'
import { api, type RepositoryConfigBody, type UiFormat } from '../api.js'
import { Checkbox, ErrorMessage, Field, focusFirstInvalid, Loading, PageHeader, RepositoryColumnHeaders, RepositoryColumns, useAsync, useTitle } from '../components.js'
import { fieldErrors, type FieldErrors } from '../field-errors.js'
import { settingsBody, settingsFor, settingValue, type SettingValue } from '../repository-settings.js'
import { Link, navigate, routePath } from '../router.js'
import { SettingFields } from './setting-fields.js'

/** The form's own fields; a format's settings come with it from the server. */
const FIELDS = [
  'key',
  'rclass',
  'packageType',
  'description',
  'notes',
  'includesPattern',
  'excludesPattern',
  'anonymousRead',
  'url',
  'username',
  'password',
  'offline',
  'retrievalCachePeriodSecs',
  'missedRetrievalCachePeriodSecs',
  'repositories',
  'defaultDeploymentRepo',
] as const

export function AdminRepositoriesPage() {
  useTitle('Manage repositories')
  const { value: repositories, error, loading, reload } = useAsync(() => api.repositories(), [])
  const [confirming, setConfirming] = useState<string | undefined>()
  const [deleteError, setDeleteError] = useState<{ key: string; message: string } | undefined>()
  const [isDeleting, setDeleting] = useState(false)

  const remove = async (key: string) => {
    setDeleting(true)
    setDeleteError(undefined)
    try {
      await api.deleteRepository(key)
      setConfirming(undefined)
      reload()
    } catch (err) {
      setDeleteError({ key, message: (err as Error).message })
    } finally {
      setDeleting(false)
    }
  }

  return (
    <section>
      <PageHeader title="Manage repositories">
        <Link to="/admin/repositories/new" className="button primary">
          Create a repository
        </Link>
      </PageHeader>
      {loading && !repositories ? <Loading /> : null}
      <ErrorMessage error={error} />
      {repositories?.length === 0 ? (
        <p className="empty">
          No repositories yet. <Link to="/admin/repositories/new">Create one</Link>.
        </p>
      ) : null}
      {repositories && repositories.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <RepositoryColumnHeaders />
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {repositories.map((r) => (
                <tr key={r.key}>
                  <RepositoryColumns repository={r} />
                  <td className="row-actions">
                    <Link to={routePath('admin', 'repositories', r.key)} className="button small" aria-label={`Edit ${r.key}`}>
                      Edit
                    </Link>
                    {confirming === r.key ? (
                      <span className="confirm" role="group" aria-label={`Confirm deleting ${r.key}`}>
                        Delete {r.key} and its {r.filesCount} files?{' '}
                        <button type="button" className="small danger" onClick={() => remove(r.key)} disabled={isDeleting} autoFocus>
                          Yes, delete
                        </button>{' '}
                        <button type="button" className="small" onClick={() => setConfirming(undefined)}>
                          Cancel
                        </button>
                      </span>
                    ) : (
                      <button type="button" className="small danger" onClick={() => setConfirming(r.key)} aria-label={`Delete ${r.key}`}>
                        Delete
                      </button>
                    )}
                    {deleteError?.key === r.key ? <ErrorMessage error={deleteError.message} /> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  )
}

interface FormState {
  key: string
  rclass: string
  packageType: string
  description: string
  notes: string
  includesPattern: string
  excludesPattern: string
  anonymousRead: boolean
  url: string
  username: string
  password: string
  offline: boolean
  retrievalCachePeriodSecs: string
  repositories: string
  defaultDeploymentRepo: string
  /** The format's settings as their controls hold them; a setting not here shows its default. */
  settings: Readonly<Record<string, SettingValue>>
}

/** A new repository; its package type is the server's first format until one is chosen. */
const EMPTY: FormState = {
  key: '',
  rclass: 'local',
  packageType: '',
  description: '',
  notes: '',
  includesPattern: '**/*',
  excludesPattern: '',
  anonymousRead: false,
  url: '',
  username: '',
  password: '',
  offline: false,
  retrievalCachePeriodSecs: '',
  repositories: '',
  defaultDeploymentRepo: '',
  settings: {},
}

function fromConfig(config: RepositoryConfigBody, format: UiFormat | undefined): FormState {
  return {
    ...EMPTY,
    key: config.key,
    rclass: config.rclass,
    packageType: config.packageType,
    description: config.description ?? '',
    notes: config.notes ?? '',
    includesPattern: config.includesPattern ?? '**/*',
    excludesPattern: config.excludesPattern ?? '',
    anonymousRead: config.anonymousRead === true,
    url: config.url ?? '',
    username: config.username ?? '',
    offline: config.offline === true,
    retrievalCachePeriodSecs: typeof config.retrievalCachePeriodSecs === 'number' ? String(config.retrievalCachePeriodSecs) : '',
    repositories: (config.repositories ?? []).join(', '),
    defaultDeploymentRepo: config.defaultDeploymentRepo ?? '',
    settings: Object.fromEntries((format?.settings ?? []).map((s) => [s.name, settingValue(s, config)])),
  }
}

/** The JSON the API takes: Artifactory's fields for the class chosen and the format's settings for it; empty optional fields left out. */
function toBody(form: FormState, format: UiFormat | undefined, isNew: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...settingsBody(settingsFor(format, form.rclass), form.settings, isNew),
    key: form.key.trim(),
    description: form.description,
    notes: form.notes,
    includesPattern: form.includesPattern.trim() || '**/*',
    excludesPattern: form.excludesPattern.trim(),
    anonymousRead: form.anonymousRead,
  }
  if (isNew) {
    body.rclass = form.rclass
    body.packageType = form.packageType
  }
  if (form.rclass === 'remote') {
    body.url = form.url.trim()
    if (form.username.trim()) body.username = form.username.trim()
    if (form.password) body.password = form.password
    body.offline = form.offline
    if (form.retrievalCachePeriodSecs.trim()) {
      const secs = Number(form.retrievalCachePeriodSecs)
      body.retrievalCachePeriodSecs = Number.isFinite(secs) ? secs : form.retrievalCachePeriodSecs
    }
  }
  if (form.rclass === 'virtual') {
    body.repositories = form.repositories
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '')
    if (form.defaultDeploymentRepo.trim()) body.defaultDeploymentRepo = form.defaultDeploymentRepo.trim()
  }
  return body
}

/** Create (no key) or edit a repository; the API's validation messages appear next to their fields. */
export function RepositoryFormPage({ repoKey }: { repoKey?: string }) {
  const isNew = repoKey === undefined
  useTitle(isNew ? 'Create a repository' : `Edit ${repoKey}`)
  const existing = useAsync(async () => (isNew ? undefined : api.repository(repoKey)), [repoKey])
  const formats = useAsync(() => api.formats(), [])
  const [form, setForm] = useState<FormState>(EMPTY)
  const [errors, setErrors] = useState<FieldErrors>({ fields: {} })
  const [isSaving, setSaving] = useState(false)
  const [saved, setSaved] = useState<string | undefined>()
  const formatOf = (id: string) => formats.value?.find((f) => f.id === id)
  useEffect(() => {
    if (!formats.value) return
    if (existing.value) setForm(fromConfig(existing.value, formatOf(existing.value.packageType)))
    else if (isNew) setForm((f) => (f.packageType === '' && formats.value![0] ? withPackageType(f, formats.value![0]) : f))
  }, [existing.value, formats.value])

  const set = <K extends keyof FormState>(field: K, value: FormState[K]) => setForm((f) => ({ ...f, [field]: value }))
  const err = (field: string) => errors.fields[field]
  const format = formatOf(form.packageType)
  const settings = settingsFor(format, form.rclass)
  // Classes the format serves; an existing repository's own class is shown even when it serves it no more.
  const classes = [...new Set([...(format?.kinds ?? []), ...(isNew ? [] : [form.rclass])])]

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setSaving(true)
    setSaved(undefined)
    const key = form.key.trim()
    const local: Record<string, string> = {}
    if (isNew && key === '') local.key = 'A key is required.'
    if (form.rclass === 'remote' && form.url.trim() === '') local.url = 'A remote repository needs the URL of its upstream.'
    if (Object.keys(local).length > 0) {
      setErrors({ fields: local })
      setSaving(false)
      focusFirstInvalid()
      return
    }
    try {
      const body = toBody(form, format, isNew)
      await (isNew ? api.createRepository(key, body) : api.updateRepository(repoKey, body))
      setErrors({ fields: {} })
      if (isNew) navigate(routePath('repositories', key))
      else setSaved(`Saved ${repoKey}.`)
    } catch (e) {
      setErrors(fieldErrors(e, [...FIELDS, ...settings.map((s) => s.name)]))
      focusFirstInvalid()
    } finally {
      setSaving(false)
    }
  }

  if ((!isNew && existing.loading && !existing.value) || (formats.loading && !formats.value)) return <Loading />
  if (!isNew && existing.error) return <ErrorMessage error={existing.error} />
  if (formats.error) return <ErrorMessage error={formats.error} />
  return (
    <section>
      <PageHeader title={isNew ? 'Create a repository' : `Edit ${repoKey}`} />
      <WriteForm className="card repo-form" onSubmit={submit} noValidate>
        {errors.general ? (
          <p className="error" role="alert">
            {errors.general}
          </p>
        ) : null}
        <Field label="Key" error={err('key')} help="2 to 64 characters: a-z, 0-9, '.', '_' and '-', starting with a letter or digit.">
          {(props) => <input {...props} value={form.key} onChange={(e) => set('key', e.target.value)} disabled={!isNew} autoComplete="off" spellCheck={false} />}
        </Field>
        <div className="row">
          <Field label="Package type" error={err('packageType')}>
            {(props) => (
              <select {...props} value={form.packageType} onChange={(e) => setForm((f) => withPackageType(f, formatOf(e.target.value)))} disabled={!isNew}>
                {(formats.value ?? []).map((f) => (
                  <option key={f.id} value={f.id}>
                    {f.title}
                  </option>
                ))}
                {format ? null : <option value={form.packageType}>{form.packageType}</option>}
              </select>
            )}
          </Field>
          <Field label="Class" error={err('rclass')}>
            {(props) => (
              <select {...props} value={form.rclass} onChange={(e) => set('rclass', e.target.value)} disabled={!isNew}>
                {classes.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Field label="Description" error={err('description')}>
          {(props) => <input {...props} value={form.description} onChange={(e) => set('description', e.target.value)} />}
        </Field>
        <Field label="Notes" error={err('notes')}>
          {(props) => <textarea {...props} rows={2} value={form.notes} onChange={(e) => set('notes', e.target.value)} />}
        </Field>
        {form.rclass === 'remote' ? (
          <fieldset>
            <legend>Upstream</legend>
            <Field label="URL" error={err('url')} help="The registry this repository caches, http or https.">
              {(props) => <input {...props} type="url" value={form.url} onChange={(e) => set('url', e.target.value)} />}
            </Field>
            <div className="row">
              <Field label="User name" error={err('username')} help="For upstreams that need a login.">
                {(props) => <input {...props} value={form.username} onChange={(e) => set('username', e.target.value)} autoComplete="off" />}
              </Field>
              <Field label="Password" error={err('password')} help={isNew ? undefined : 'Leave empty to keep the stored one.'}>
                {(props) => <input {...props} type="password" value={form.password} onChange={(e) => set('password', e.target.value)} autoComplete="new-password" />}
              </Field>
            </div>
            <Field label="Metadata cache period (seconds)" error={err('retrievalCachePeriodSecs')}>
              {(props) => <input {...props} inputMode="numeric" value={form.retrievalCachePeriodSecs} onChange={(e) => set('retrievalCachePeriodSecs', e.target.value)} />}
            </Field>
            <Checkbox label="Offline: serve only what is cached" checked={form.offline} onChange={(v) => set('offline', v)} error={err('offline')} />
          </fieldset>
        ) : null}
        {form.rclass === 'virtual' ? (
          <fieldset>
            <legend>Members</legend>
            <MemberPicker value={form.repositories} onChange={(v) => set('repositories', v)} packageType={form.packageType} self={form.key} error={err('repositories')} />
            <Field label="Default deployment repository" error={err('defaultDeploymentRepo')} help="A local member that receives pushes.">
              {(props) => <input {...props} value={form.defaultDeploymentRepo} onChange={(e) => set('defaultDeploymentRepo', e.target.value)} />}
            </Field>
          </fieldset>
        ) : null}
        {settings.length > 0 ? (
          <fieldset>
            <legend>{format?.title} settings</legend>
            <SettingFields settings={settings} values={form.settings} errors={errors.fields} onChange={(name, value) => set('settings', { ...form.settings, [name]: value })} />
          </fieldset>
        ) : null}
        <details>
          <summary>Paths and access</summary>
          <Field label="Include patterns" error={err('includesPattern')} help="Comma-separated globs, relative to the repository root.">
            {(props) => <input {...props} value={form.includesPattern} onChange={(e) => set('includesPattern', e.target.value)} />}
          </Field>
          <Field label="Exclude patterns" error={err('excludesPattern')}>
            {(props) => <input {...props} value={form.excludesPattern} onChange={(e) => set('excludesPattern', e.target.value)} />}
          </Field>
          <Checkbox label="Anonymous read: anyone may download and browse" checked={form.anonymousRead} onChange={(v) => set('anonymousRead', v)} error={err('anonymousRead')} />
        </details>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={isSaving}>
            {isSaving ? 'Saving…' : isNew ? 'Create repository' : 'Save changes'}
          </button>
          <Link to="/admin/repositories" className="button">
            Cancel
          </Link>
        </div>
        {saved ? <p role="status">{saved}</p> : null}
      </WriteForm>
    </section>
  )
}

/** The form with another package type: a class it serves (the one chosen, if it does). */
function withPackageType(form: FormState, format: UiFormat | undefined): FormState {
  if (!format) return form
  const rclass = format.kinds.some((k) => k === form.rclass) ? form.rclass : (format.kinds[0] ?? form.rclass)
  return { ...form, packageType: format.id, rclass }
}
