import { useEffect, useState, type FormEvent } from 'react'
import { api, parseStorageUri } from '../api.js'
import { ErrorMessage, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { checksumKind } from '../format.js'
import { Link, navigate, routePath, useLocation } from '../router.js'

/** Quick search: by file name (with * and ?) or by checksum (SHA-256, SHA-1 or MD5, told apart by length). */
export function SearchPage() {
  useTitle('Search')
  const { query } = useLocation()
  const name = query.get('name') ?? ''
  const checksum = query.get('checksum') ?? ''
  const [mode, setMode] = useState<'name' | 'checksum'>(checksum ? 'checksum' : 'name')
  const [text, setText] = useState(checksum || name)
  const [problem, setProblem] = useState<string | undefined>()
  useEffect(() => {
    setMode(checksum ? 'checksum' : 'name')
    setText(checksum || name)
  }, [name, checksum])

  const results = useAsync(async () => {
    if (checksum) {
      const kind = checksumKind(checksum)
      if (!kind) return undefined
      return (await api.searchByChecksum(kind, checksum.toLowerCase())).results
    }
    if (name) return (await api.searchByName(name)).results
    return undefined
  }, [name, checksum])

  const submit = (event: FormEvent) => {
    event.preventDefault()
    const value = text.trim()
    setProblem(undefined)
    if (!value) return setProblem('Type a name or a checksum.')
    if (mode === 'checksum') {
      if (!checksumKind(value)) return setProblem('A checksum is 64 (SHA-256), 40 (SHA-1) or 32 (MD5) hexadecimal characters.')
      navigate(`/search?checksum=${encodeURIComponent(value)}`)
    } else {
      navigate(`/search?name=${encodeURIComponent(value)}`)
    }
  }

  const list = results.value
  return (
    <section>
      <PageHeader title="Search" />
      <form className="search-form" onSubmit={submit} role="search">
        <fieldset className="radios">
          <legend>Search by</legend>
          <label>
            <input type="radio" name="mode" value="name" checked={mode === 'name'} onChange={() => setMode('name')} /> File name
          </label>
          <label>
            <input type="radio" name="mode" value="checksum" checked={mode === 'checksum'} onChange={() => setMode('checksum')} /> Checksum
          </label>
        </fieldset>
        <div className="field">
          <label htmlFor="search-text">{mode === 'name' ? 'File name (* and ? match any characters)' : 'SHA-256, SHA-1 or MD5'}</label>
          <div className="row">
            <input
              id="search-text"
              value={text}
              onChange={(e) => setText(e.target.value)}
              placeholder={mode === 'name' ? '*.tar.gz' : 'e3b0c442…'}
              aria-invalid={Boolean(problem)}
              aria-describedby={problem ? 'search-problem' : undefined}
            />
            <button type="submit" className="primary">
              Search
            </button>
          </div>
          {problem ? (
            <small id="search-problem" className="field-error" role="alert">
              {problem}
            </small>
          ) : null}
        </div>
      </form>
      {results.loading && (name || checksum) ? <Loading label="Searching…" /> : null}
      <ErrorMessage error={results.error} />
      {list ? (
        list.length === 0 ? (
          <p className="empty" role="status">
            Nothing found. {name && !name.includes('*') ? 'Names must match whole: try *' + name + '*.' : 'Only repositories you may read are searched.'}
          </p>
        ) : (
          <>
            <p role="status">
              {list.length} {list.length === 1 ? 'file' : 'files'}
            </p>
            <ul className="results">
              {list.map((r) => {
                const target = parseStorageUri(r.uri)
                if (!target) return null
                return (
                  <li key={r.uri}>
                    <Link to={routePath('repositories', target.repo, target.path)}>
                      <span className="muted">{target.repo}/</span>
                      {target.path}
                    </Link>
                  </li>
                )
              })}
            </ul>
          </>
        )
      ) : null}
    </section>
  )
}
