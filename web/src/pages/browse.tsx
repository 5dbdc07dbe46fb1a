import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react'
import { api, ApiError, downloadUrl, type StorageItem } from '../api.js'
import { CopyButton, ErrorMessage, Loading, useAsync, useTitle } from '../components.js'
import { formatBytes, formatDate, isoDate } from '../format.js'
import { Link, navigate, routePath } from '../router.js'
import { Properties } from './properties.js'
import { ArtifactSecurity, GuardedDownload, RepositorySecurity } from './security.js'
import { useSession } from '../session.js'
import { BrowseHints } from './browse-hints.js'
import { UsageSummary } from './usage-report.js'
import { FederationPanel } from './federation-status.js'
import { RepositoryHeader } from './packages.js'
import { RepositoryState } from './repository-state.js'

interface Child {
  readonly name: string
  readonly path: string
  readonly isFolder: boolean
}

interface FolderState {
  readonly children?: readonly Child[]
  readonly error?: string
}

/** A repository: a lazy tree of its folders and files beside the selected item's details. */
export function BrowsePage({ repoKey, path }: { repoKey: string; path: string }) {
  useTitle(path ? `${path.split('/').pop()} · ${repoKey}` : repoKey)
  // Its class decides whether a file's properties can be changed here (not through a virtual).
  const { value: repository } = useAsync(() => api.repository(repoKey), [repoKey])
  const { value: format } = useAsync(async () => (repository ? (await api.formats()).find((f) => f.id === repository.packageType) : undefined), [repository])
  return (
    <section>
      <RepositoryHeader repoKey={repoKey} views={format?.hasPackageViews ? 'files' : undefined} />
      <Breadcrumbs repoKey={repoKey} path={path} />
      {path === '' ? <RepositoryState repository={repository} /> : null}
      <BrowseHints repoKey={repoKey} />
      <UsageSummary scope="repositories" name={repoKey} />
      {path === '' ? <FederationPanel repoKey={repoKey} rclass={repository?.rclass} /> : null}
      <div className="browser">
        <Tree repoKey={repoKey} selected={path} />
        <div className="details" aria-live="polite">
          <ItemView key={path} repoKey={repoKey} path={path} repositoryClass={repository?.rclass} />
        </div>
      </div>
    </section>
  )
}

function Breadcrumbs({ repoKey, path }: { repoKey: string; path: string }) {
  const parts = path ? path.split('/') : []
  return (
    <nav aria-label="Path" className="breadcrumbs">
      <ol>
        <li>
          <Link to={routePath('repositories', repoKey)} aria-current={parts.length === 0 ? 'page' : undefined}>
            {repoKey}
          </Link>
        </li>
        {parts.map((part, i) => (
          <li key={i}>
            <Link to={routePath('repositories', repoKey, parts.slice(0, i + 1).join('/'))} aria-current={i === parts.length - 1 ? 'page' : undefined}>
              {part}
            </Link>
          </li>
        ))}
      </ol>
    </nav>
  )
}

/** The treeitem's name is its own label, not the text of the folders open below it. */
function labelId(path: string): string {
  return `tree-${encodeURIComponent(path)}`
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash === -1 ? '' : path.slice(0, slash)
}

function ancestorsOf(path: string): string[] {
  const parts = path.split('/')
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'))
}

/**
 * The WAI-ARIA tree pattern: one tab stop, arrows move (right opens a folder or enters it, left
 * closes it or goes to its parent), Enter opens the item. Folders load when first opened.
 */
function Tree({ repoKey, selected }: { repoKey: string; selected: string }) {
  const [folders, setFolders] = useState<ReadonlyMap<string, FolderState>>(new Map())
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set(['', ...ancestorsOf(selected)]))
  const [focused, setFocused] = useState<string | undefined>()
  const loading = useRef(new Set<string>())
  const itemRefs = useRef(new Map<string, HTMLLIElement>())

  const load = useCallback(
    (folder: string) => {
      if (loading.current.has(folder)) return
      loading.current.add(folder)
      api.item(repoKey, folder).then(
        (item) => {
          const children = (item.children ?? [])
            .map((c) => {
              const name = c.uri.replace(/^\//, '')
              return { name, path: folder ? `${folder}/${name}` : name, isFolder: c.folder }
            })
            .sort((a, b) => (a.isFolder !== b.isFolder ? (a.isFolder ? -1 : 1) : a.name.localeCompare(b.name)))
          setFolders((m) => new Map(m).set(folder, { children }))
        },
        (err: Error) => {
          loading.current.delete(folder)
          setFolders((m) => new Map(m).set(folder, { error: err.message }))
        },
      )
    },
    [repoKey],
  )

  // Opens the folders down to the selected item (a deep link), loading each.
  useEffect(() => {
    setExpanded((e) => {
      const wanted = ['', ...ancestorsOf(selected)]
      return wanted.every((p) => e.has(p)) ? e : new Set([...e, ...wanted])
    })
  }, [selected])
  useEffect(() => {
    for (const folder of expanded) if (!folders.has(folder)) load(folder)
  }, [expanded, folders, load])

  const toggle = (path: string, open?: boolean) =>
    setExpanded((e) => {
      const next = new Set(e)
      if (open ?? !e.has(path)) next.add(path)
      else next.delete(path)
      return next
    })

  // The items a keyboard user can reach, in order.
  const visible: Child[] = []
  const walk = (folder: string) => {
    for (const child of folders.get(folder)?.children ?? []) {
      visible.push(child)
      if (child.isFolder && expanded.has(child.path)) walk(child.path)
    }
  }
  walk('')
  const tabStop = focused && visible.some((c) => c.path === focused) ? focused : visible.some((c) => c.path === selected) ? selected : visible[0]?.path

  const focusItem = (path: string | undefined) => {
    if (path === undefined) return
    setFocused(path)
    itemRefs.current.get(path)?.focus()
  }
  const open = (child: Child) => navigate(routePath('repositories', repoKey, child.path))

  const onKeyDown = (event: KeyboardEvent, child: Child) => {
    const index = visible.findIndex((c) => c.path === child.path)
    let handled = true
    switch (event.key) {
      case 'ArrowDown':
        focusItem(visible[index + 1]?.path)
        break
      case 'ArrowUp':
        focusItem(visible[index - 1]?.path)
        break
      case 'Home':
        focusItem(visible[0]?.path)
        break
      case 'End':
        focusItem(visible[visible.length - 1]?.path)
        break
      case 'ArrowRight':
        if (child.isFolder && !expanded.has(child.path)) toggle(child.path, true)
        else if (child.isFolder) focusItem(folders.get(child.path)?.children?.[0]?.path)
        break
      case 'ArrowLeft':
        if (child.isFolder && expanded.has(child.path)) toggle(child.path, false)
        else if (parentOf(child.path) !== '') focusItem(parentOf(child.path))
        break
      case 'Enter':
      case ' ':
        if (child.isFolder) toggle(child.path)
        open(child)
        break
      default:
        handled = false
    }
    if (handled) {
      event.preventDefault()
      event.stopPropagation()
    }
  }

  const renderFolder = (folder: string, level: number) => {
    const state = folders.get(folder)
    if (!state) return <li className="tree-note">Loading…</li>
    if (state.error) return <li className="tree-note error">{state.error}</li>
    if (state.children?.length === 0) return <li className="tree-note">{folder === '' ? 'Empty: nothing deployed yet.' : 'Empty folder'}</li>
    return state.children!.map((child) => {
      const isOpen = child.isFolder && expanded.has(child.path)
      return (
        <li
          key={child.path}
          role="treeitem"
          aria-level={level}
          aria-expanded={child.isFolder ? isOpen : undefined}
          aria-selected={child.path === selected}
          aria-labelledby={labelId(child.path)}
          tabIndex={child.path === tabStop ? 0 : -1}
          ref={(el) => {
            if (el) itemRefs.current.set(child.path, el)
            else itemRefs.current.delete(child.path)
          }}
          onKeyDown={(e) => onKeyDown(e, child)}
          onFocus={(e) => {
            if (e.target === e.currentTarget) setFocused(child.path)
          }}
          className={child.isFolder ? 'folder' : 'file'}
        >
          <span
            id={labelId(child.path)}
            className="tree-label"
            onClick={(e) => {
              e.stopPropagation()
              setFocused(child.path)
              if (child.isFolder) toggle(child.path, child.path === selected ? !isOpen : true)
              open(child)
            }}
          >
            <span aria-hidden="true" className="tree-icon">
              {child.isFolder ? (isOpen ? '▾' : '▸') : '·'}
            </span>
            {child.name}
          </span>
          {isOpen ? <ul role="group">{renderFolder(child.path, level + 1)}</ul> : null}
        </li>
      )
    })
  }

  return (
    <nav className="tree" aria-label={`Contents of ${repoKey}`}>
      <ul role="tree" aria-label={`Contents of ${repoKey}`}>
        {renderFolder('', 1)}
      </ul>
    </nav>
  )
}

function ItemView({ repoKey, path, repositoryClass }: { repoKey: string; path: string; repositoryClass: string | undefined }) {
  const { value: item, error, loading, reload } = useAsync(() => api.item(repoKey, path), [repoKey, path])
  if (loading && !item) return <Loading />
  if (error) {
    return error instanceof ApiError && error.status === 404 ? (
      <div className="empty">
        <p>
          {path ? (
            <>
              <code>{path}</code> is not in {repoKey}.
            </>
          ) : (
            'This repository is empty.'
          )}
        </p>
        <p>
          See <Link to={routePath('setup', repoKey)}>Set Me Up</Link> to deploy to it.
        </p>
      </div>
    ) : (
      <ErrorMessage error={error} />
    )
  }
  if (!item) return null
  return item.children ? (
    <FolderView repoKey={repoKey} path={path} item={item} />
  ) : (
    <FileView repoKey={repoKey} path={path} item={item} repositoryClass={repositoryClass} onChanged={reload} />
  )
}

function FolderView({ repoKey, path, item }: { repoKey: string; path: string; item: StorageItem }) {
  const children = item.children ?? []
  return (
    <article>
      <h2>{path ? `${path.split('/').pop()}/` : 'Repository root'}</h2>
      <dl className="facts">
        <dt>Created</dt>
        <dd>
          <time dateTime={isoDate(item.created)}>{formatDate(item.created)}</time> by {item.createdBy || '—'}
        </dd>
        <dt>Contains</dt>
        <dd>
          {children.filter((c) => c.folder).length} folders, {children.filter((c) => !c.folder).length} files
        </dd>
      </dl>
      {children.length === 0 ? (
        <p className="empty">
          {path ? 'This folder is empty.' : 'Nothing is deployed here yet.'} <Link to={routePath('setup', repoKey)}>Set Me Up</Link> shows how to deploy.
        </p>
      ) : (
        <ul className="listing">
          {children.map((c) => {
            const name = c.uri.replace(/^\//, '')
            return (
              <li key={name} className={c.folder ? 'folder' : 'file'}>
                <Link to={routePath('repositories', repoKey, path ? `${path}/${name}` : name)}>
                  {name}
                  {c.folder ? '/' : ''}
                </Link>
              </li>
            )
          })}
        </ul>
      )}
      {path === '' ? <RepositorySecurity repoKey={repoKey} /> : <ArtifactSecurity repoKey={repoKey} path={path} isOptional />}
    </article>
  )
}

function FileView({
  repoKey,
  path,
  item,
  repositoryClass,
  onChanged,
}: {
  repoKey: string
  path: string
  item: StorageItem
  repositoryClass: string | undefined
  onChanged: () => void
}) {
  const stats = useAsync(() => api.stats(repoKey, path), [repoKey, path, item])
  const href = downloadUrl(repoKey, path)
  const checksums = item.checksums ?? {}
  return (
    <article className="artifact">
      <h2>{path.split('/').pop()}</h2>
      <p className="actions">
        <GuardedDownload repoKey={repoKey} path={path} href={href} />
        <CopyButton text={new URL(href, location.origin).toString()} label="Copy the download URL" />
      </p>
      <dl className="facts">
        <dt>Path</dt>
        <dd>
          <code>
            {repoKey}/{path}
          </code>
        </dd>
        <dt>Size</dt>
        <dd>
          {formatBytes(Number(item.size))} <span className="muted">({Number(item.size).toLocaleString()} bytes)</span>
        </dd>
        <dt>Content type</dt>
        <dd>{item.mimeType ?? '—'}</dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={isoDate(item.created)}>{formatDate(item.created)}</time> by {item.createdBy || '—'}
        </dd>
        <dt>Modified</dt>
        <dd>
          <time dateTime={isoDate(item.lastModified)}>{formatDate(item.lastModified)}</time> by {item.modifiedBy || '—'}
        </dd>
        <dt>Downloads</dt>
        <dd data-testid="download-count">{stats.error ? '—' : stats.value ? stats.value.downloadCount : '…'}</dd>
        <dt>Last download</dt>
        <dd>
          {stats.value && stats.value.lastDownloaded ? (
            <>
              <time dateTime={isoDate(stats.value.lastDownloaded)}>{formatDate(stats.value.lastDownloaded)}</time>
              {stats.value.lastDownloadedBy ? ` by ${stats.value.lastDownloadedBy}` : ''}
            </>
          ) : (
            'never'
          )}
        </dd>
        {item.remoteUrl ? (
          <>
            <dt>Source</dt>
            <dd>
              <code>{item.remoteUrl}</code>
              {item.lastUpdated ? (
                <>
                  , fetched <time dateTime={isoDate(item.lastUpdated)}>{formatDate(item.lastUpdated)}</time>
                </>
              ) : null}
            </dd>
          </>
        ) : null}
      </dl>
      <h3>Checksums</h3>
      <table className="checksums">
        <tbody>
          {(['sha256', 'sha1', 'md5'] as const).map((algorithm) =>
            checksums[algorithm] ? (
              <tr key={algorithm}>
                <th scope="row">{algorithm.toUpperCase()}</th>
                <td>
                  <code data-checksum={algorithm}>{checksums[algorithm]}</code>
                </td>
                <td>
                  <CopyButton text={checksums[algorithm]!} label={`Copy ${algorithm.toUpperCase()}`} />
                </td>
              </tr>
            ) : null,
          )}
        </tbody>
      </table>
      <ArtifactSecurity repoKey={repoKey} path={path} />
      <Properties repoKey={repoKey} path={path} repositoryClass={repositoryClass} onChanged={onChanged} />
    </article>
  )
}
