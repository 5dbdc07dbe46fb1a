import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react'
import type { UiRepository } from './api.js'
import { formatBytes } from './format.js'
import { Link, routePath } from './router.js'

/** The state of one call: loading, its value, or its error; `reload` calls again. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]) {
  const [state, setState] = useState<{ loading: boolean; value?: T; error?: Error }>({ loading: true })
  const [generation, setGeneration] = useState(0)
  useEffect(() => {
    const controller = new AbortController()
    setState((s) => ({ ...s, loading: true, error: undefined }))
    load(controller.signal).then(
      (value) => !controller.signal.aborted && setState({ loading: false, value }),
      (error: Error) => !controller.signal.aborted && setState({ loading: false, error }),
    )
    return () => controller.abort()
  }, [...deps, generation])
  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  return { ...state, reload }
}

export function ErrorMessage({ error, children }: { error?: Error | string | undefined; children?: ReactNode }) {
  if (!error && !children) return null
  return (
    <p className="error" role="alert">
      {children ?? (typeof error === 'string' ? error : error?.message)}
    </p>
  )
}

/** Shown only when a call takes long enough to notice (no flicker on fast ones). */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  const [isVisible, setVisible] = useState(false)
  useEffect(() => {
    const timer = setTimeout(() => setVisible(true), 150)
    return () => clearTimeout(timer)
  }, [])
  return (
    <p className="loading" role="status" aria-live="polite">
      {isVisible ? label : ''}
    </p>
  )
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | undefined>()
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined)
  useEffect(() => () => clearTimeout(timer.current), [])
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text)
      setCopied('yes')
    } catch {
      setCopied('no')
    }
    clearTimeout(timer.current)
    timer.current = setTimeout(() => setCopied(undefined), 2000)
  }
  return (
    <button type="button" className="small" onClick={copy} aria-label={`${label}: ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`}>
      {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Select and copy' : label}
    </button>
  )
}

/** A labelled control with its help text and its own error message beneath it. */
export function Field({
  label,
  error,
  help,
  children,
}: {
  label: string
  error?: string | undefined
  help?: ReactNode
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }) => ReactNode
}) {
  const id = useId()
  const helpId = help ? `${id}-help` : undefined
  const errorId = error ? `${id}-error` : undefined
  const describedBy = [helpId, errorId].filter(Boolean).join(' ') || undefined
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': Boolean(error), 'aria-describedby': describedBy })}
      {help ? (
        <small id={helpId} className="help">
          {help}
        </small>
      ) : null}
      {error ? (
        <small id={errorId} className="field-error" role="alert">
          {error}
        </small>
      ) : null}
    </div>
  )
}

/** Sets the document title: "Page · Trove". */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Trove`
  }, [title])
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1 tabIndex={-1}>{title}</h1>
      {children ? <div className="page-actions">{children}</div> : null}
    </div>
  )
}

/** The columns every repository table starts with (key, type, class, artifacts, size): their headers. */
export function RepositoryColumnHeaders() {
  return (
    <>
      <th scope="col">Key</th>
      <th scope="col">Type</th>
      <th scope="col">Class</th>
      <th scope="col" className="num">
        Artifacts
      </th>
      <th scope="col" className="num">
        Size
      </th>
    </>
  )
}

/** The columns every repository table starts with, for one repository; its key links to its page. */
export function RepositoryColumns({ repository: r }: { repository: UiRepository }) {
  return (
    <>
      <th scope="row">
        <Link to={routePath('packages', r.key)}>{r.key}</Link>
      </th>
      <td>{r.packageType}</td>
      <td>{r.rclass}</td>
      <td className="num">{r.filesCount}</td>
      <td className="num">{formatBytes(r.usedSpaceInBytes)}</td>
    </>
  )
}

/** A checkbox with its label and its own error message. */
export function Checkbox({
  label,
  checked,
  onChange,
  error,
  help,
}: {
  label: ReactNode
  checked: boolean
  onChange: (value: boolean) => void
  error?: string | undefined
  help?: ReactNode
}) {
  const id = useId()
  return (
    <div className={`field checkbox${error ? ' invalid' : ''}`}>
      <label>
        <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-invalid={Boolean(error)} aria-describedby={help ? `${id}-help` : undefined} />{' '}
        {label}
      </label>
      {help ? (
        <small id={`${id}-help`} className="help">
          {help}
        </small>
      ) : null}
      {error ? (
        <small className="field-error" role="alert">
          {error}
        </small>
      ) : null}
    </div>
  )
}

/** Moves the focus to the first field marked invalid, after the render that marks it. */
export function focusFirstInvalid(): void {
  requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus())
}
