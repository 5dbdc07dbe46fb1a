import { useEffect, useId, useState } from 'react'
import { api, type UiPackageList } from '../api.js'
import { ErrorMessage, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { formatBytes, formatDate } from '../format.js'
import { Link, navigate, routePath } from '../router.js'
import { RepositoryState } from './repository-state.js'
import { FederationPanel } from './federation-status.js'
import { RepositorySecurity } from './security.js'

/** A link to a package's page or one of its versions. */
export function packageLink(repoKey: string, name: string, version?: string): string {
  const query = new URLSearchParams(version === undefined ? { name } : { name, version })
  return `${routePath('packages', repoKey, version === undefined ? 'package' : 'version')}?${query}`
}

/**
 * A repository page's header: its key, Set Me Up, and (`views`, for formats with package views)
 * the links between its packages and its file tree. Panels other pages add (usage, federation)
 * go below it, one line each.
 */
export function RepositoryHeader({ repoKey, views }: { repoKey: string; views?: 'packages' | 'files' | undefined }) {
  return (
    <>
      <PageHeader title={repoKey}>
        <Link to={routePath('setup', repoKey)} className="button">
          Set Me Up
        </Link>
      </PageHeader>
      {views ? <RepositoryViews repoKey={repoKey} current={views} /> : null}
    </>
  )
}

/** The links between a repository's two views: its packages and its file tree. */
export function RepositoryViews({ repoKey, current }: { repoKey: string; current: 'packages' | 'files' }) {
  return (
    <nav aria-label="Repository views" className="views">
      <Link to={routePath('packages', repoKey)} aria-current={current === 'packages' ? 'page' : undefined}>
        Packages
      </Link>
      <Link to={routePath('repositories', repoKey)} aria-current={current === 'files' ? 'page' : undefined}>
        Files
      </Link>
    </nav>
  )
}

/**
 * A repository opens on its packages (images, npm packages…) as its format reads them, with a
 * filter and a sort; a format without package views sends the visitor to the file tree.
 */
export function PackagesPage({ repoKey }: { repoKey: string }) {
  useTitle(`Packages · ${repoKey}`)
  const [q, setQ] = useState('')
  const [sort, setSort] = useState('name')
  const [query, setQuery] = useState('')
  const searchId = useId()
  const sortId = useId()
  // Filters as the user types, one call after a short pause.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(q), 200)
    return () => clearTimeout(timer)
  }, [q])
  const repository = useAsync(() => api.repository(repoKey), [repoKey])
  const list = useAsync(() => api.packages(repoKey, { q: query, sort }), [repoKey, query, sort])
  useEffect(() => {
    if (list.value && !list.value.supported) navigate(routePath('repositories', repoKey), { replace: true })
  }, [list.value, repoKey])
  const value = list.value
  const isRemote = value?.rclass === 'remote'
  return (
    <section>
      <RepositoryHeader repoKey={repoKey} views="packages" />
      {repository.value?.description ? <p>{repository.value.description}</p> : null}
      <RepositoryState repository={repository.value} />
      <FederationPanel repoKey={repoKey} rclass={repository.value?.rclass} />
      <ErrorMessage error={list.error ?? repository.error} />
      <div className="filters" role="search" aria-label={`Filter the ${value?.noun ?? 'package'}s`}>
        <div className="field">
          <label htmlFor={searchId}>Name contains</label>
          <input id={searchId} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={sortId}>Sort by</label>
          <select id={sortId} value={sort} onChange={(e) => setSort(e.target.value)}>
            <option value="name">Name</option>
            <option value="updated">Last updated</option>
          </select>
        </div>
      </div>
      {list.loading && !value ? <Loading /> : null}
      {value && value.supported ? <PackageTable list={value} isRemote={isRemote} filtered={query !== ''} /> : null}
      <RepositorySecurity repoKey={repoKey} />
    </section>
  )
}

function PackageTable({ list, isRemote, filtered }: { list: UiPackageList; isRemote: boolean; filtered: boolean }) {
  const noun = list.noun
  if (list.packages.length === 0) {
    return (
      <p className="empty" data-testid="packages-empty">
        {filtered
          ? `No ${noun} matches this filter: clear it to see them all.`
          : list.rclass === 'remote'
            ? `Nothing cached yet: this repository fills as clients pull through it. Point a client at it (Set Me Up) and pull a ${noun}.`
            : list.rclass === 'virtual'
              ? `None of the members you may read holds a ${noun} yet.`
              : `No ${noun}s yet. See Set Me Up for the commands that push one here.`}{' '}
        {filtered ? null : <Link to={routePath('setup', list.repoKey)}>Set Me Up</Link>}
      </p>
    )
  }
  return (
    <table className="packages">
      <caption className="visually-hidden">{`The ${noun}s of ${list.repoKey}`}</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Latest</th>
          <th scope="col" className="num">
            Versions
          </th>
          <th scope="col">Last updated</th>
          {isRemote ? <th scope="col">Cached</th> : null}
          <th scope="col" className="num">
            Size
          </th>
        </tr>
      </thead>
      <tbody>
        {list.packages.map((p) => (
          <tr key={p.name}>
            <th scope="row" className="wrap">
              <Link to={packageLink(list.repoKey, p.name)}>{p.name}</Link>
            </th>
            <td className="wrap">{p.latestVersion ? <Link to={packageLink(list.repoKey, p.name, p.latestVersion)}>{p.latestVersion}</Link> : '—'}</td>
            <td className="num">{p.versionCount}</td>
            <td>{formatDate(p.updatedAt)}</td>
            {isRemote ? <td>{formatDate(p.cachedAt)}</td> : null}
            <td className="num">{formatBytes(p.size)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Short words a format attaches to a version (latest, untagged, deprecated…), as badges. */
export function Labels({ labels }: { labels: readonly string[] }) {
  if (labels.length === 0) return null
  return (
    <span className="labels">
      {labels.map((label) => (
        <span key={label} className={`label label-${label.split(' ')[0]}`}>
          {label}
        </span>
      ))}
    </span>
  )
}

/** A package: its versions (tags, untagged manifests, releases) with their labels, sizes and dates. */
export function PackagePage({ repoKey, name }: { repoKey: string; name: string }) {
  useTitle(`${name} · ${repoKey}`)
  const { value, error, loading } = useAsync(() => api.package(repoKey, name), [repoKey, name])
  const hasDigests = value?.versions.some((v) => v.digest) ?? false
  return (
    <section>
      <PageHeader title={<span className="wrap">{name}</span>} />
      <PackageCrumbs repoKey={repoKey} name={name} />
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {error ? (
        <p>
          <Link to={routePath('packages', repoKey)}>See the {repoKey} packages</Link> or <Link to={routePath('repositories', repoKey)}>browse its files</Link>.
        </p>
      ) : null}
      {value ? (
        <>
          {value.description ? <p className="description">{value.description}</p> : null}
          <h2>Versions</h2>
          <table className="versions">
            <thead>
              <tr>
                <th scope="col">Version</th>
                {hasDigests ? <th scope="col">Digest</th> : null}
                <th scope="col">Last updated</th>
                <th scope="col">Last downloaded</th>
                <th scope="col" className="num">
                  Size
                </th>
              </tr>
            </thead>
            <tbody>
              {value.versions.map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <th scope="row" className="wrap">
                    <Link to={packageLink(repoKey, name, v.version)}>{v.version}</Link> <Labels labels={v.labels} />
                  </th>
                  {hasDigests ? (
                    <td className="wrap">
                      <code>{v.digest ?? ''}</code>
                    </td>
                  ) : null}
                  <td>{formatDate(v.updatedAt)}</td>
                  <td>{formatDate(v.downloadedAt)}</td>
                  <td className="num">{formatBytes(v.size)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  )
}

export function PackageCrumbs({ repoKey, name, version }: { repoKey: string; name: string; version?: string }) {
  return (
    <nav aria-label="Path" className="breadcrumbs">
      <ol>
        <li>
          <Link to={routePath('packages', repoKey)}>{repoKey}</Link>
        </li>
        <li>
          <Link to={packageLink(repoKey, name)} aria-current={version === undefined ? 'page' : undefined}>
            {name}
          </Link>
        </li>
        {version !== undefined ? (
          <li>
            <Link to={packageLink(repoKey, name, version)} aria-current="page">
              {version}
            </Link>
          </li>
        ) : null}
      </ol>
    </nav>
  )
}
