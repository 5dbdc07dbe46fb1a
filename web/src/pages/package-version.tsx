import type { ReactNode } from 'react'
import { api, type UiCell, type UiPackageVersion, type UiSection } from '../api.js'
import { CopyButton, ErrorMessage, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { formatBytes, formatDate } from '../format.js'
import { Link, routePath } from '../router.js'
import { Labels, PackageCrumbs, packageLink } from './packages.js'
import { ArtifactSecurity } from './security.js'

/**
 * One version of a package: what it is (digest, size, dates), how to pull or install it (the real
 * names filled in by its format), its description or README, dependencies, the format's own
 * sections (an image's platforms, layers, configuration, referrers), its files and its security.
 */
export function PackageVersionPage({ repoKey, name, version }: { repoKey: string; name: string; version: string }) {
  useTitle(`${name} ${version} · ${repoKey}`)
  const { value, error, loading } = useAsync(() => api.packageVersion(repoKey, name, version), [repoKey, name, version])
  return (
    <section>
      <PageHeader title={<span className="wrap">{`${name} ${version}`}</span>} />
      <PackageCrumbs repoKey={repoKey} name={name} version={version} />
      {loading && !value ? <Loading /> : null}
      <ErrorMessage error={error} />
      {error ? (
        <p>
          <Link to={packageLink(repoKey, name)}>See the versions of {name}</Link> or <Link to={routePath('repositories', repoKey)}>browse the files</Link>.
        </p>
      ) : null}
      {value ? <VersionBody repoKey={repoKey} v={value} /> : null}
    </section>
  )
}

function VersionBody({ repoKey, v }: { repoKey: string; v: UiPackageVersion }) {
  const treePath = v.treePath
  const isFolder = treePath !== undefined && !v.files.some((f) => f.path === treePath)
  return (
    <>
      <Labels labels={v.labels} />
      {v.description ? <p className="description">{v.description}</p> : null}
      <dl className="facts">
        {v.digest ? <Fact label="Digest" value={<code className="wrap">{v.digest}</code>} /> : null}
        <Fact label="Size" value={formatBytes(v.size)} />
        <Fact label="Last updated" value={formatDate(v.updatedAt)} />
        <Fact label="Last downloaded" value={formatDate(v.downloadedAt)} />
        <Fact label="Downloads" value={String(v.downloadCount)} />
      </dl>
      {v.install.length > 0 ? (
        <section aria-labelledby="install-heading">
          <h2 id="install-heading">Pull or install</h2>
          <ul className="snippets">
            {v.install.map((s) => (
              <li key={s.id} className="snippet" data-snippet={s.id}>
                <div className="snippet-head">
                  <h3>{s.title}</h3>
                  <CopyButton text={s.text} label={`Copy ${s.title}`} />
                </div>
                <p>{s.description}</p>
                <pre tabIndex={0} aria-label={s.title}>
                  <code>{s.text}</code>
                </pre>
              </li>
            ))}
          </ul>
          <p className="muted">
            Your client needs a login first: <Link to={routePath('setup', repoKey)}>Set Me Up</Link> makes a token and shows how.
          </p>
        </section>
      ) : null}
      {treePath !== undefined ? <ArtifactSecurity repoKey={repoKey} path={treePath} isOptional={isFolder} /> : null}
      {v.dependencies ? (
        <section aria-labelledby="dependencies-heading" data-section="Dependencies">
          <h2 id="dependencies-heading">Dependencies</h2>
          {v.dependencies.length === 0 ? (
            <p className="muted">None declared.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Package</th>
                  <th scope="col">Requirement</th>
                  <th scope="col">Kind</th>
                </tr>
              </thead>
              <tbody>
                {v.dependencies.map((d) => (
                  <tr key={`${d.kind}:${d.name}`}>
                    <th scope="row" className="wrap">
                      {d.name}
                    </th>
                    <td className="wrap">{d.requirement}</td>
                    <td>{d.kind ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ) : null}
      {v.sections.map((section) => (
        <Section key={section.title} repoKey={repoKey} name={v.name} section={section} />
      ))}
      {v.readme ? (
        <section aria-labelledby="readme-heading">
          <h2 id="readme-heading">README</h2>
          <pre className="readme" tabIndex={0} aria-label="README">
            {v.readme}
          </pre>
        </section>
      ) : null}
      <section aria-labelledby="files-heading">
        <h2 id="files-heading">Files</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Last downloaded</th>
              {v.rclass === 'remote' ? <th scope="col">Cached</th> : null}
            </tr>
          </thead>
          <tbody>
            {v.files.map((f) => (
              <tr key={f.path}>
                <th scope="row" className="wrap">
                  <Link to={routePath('repositories', repoKey, f.path)}>{f.path}</Link>
                  {f.repoKey !== repoKey ? <span className="muted"> (in {f.repoKey})</span> : null}
                </th>
                <td className="num">{formatBytes(f.size)}</td>
                <td>{formatDate(f.downloadedAt)}</td>
                {v.rclass === 'remote' ? <td>{formatDate(f.cachedAt)}</td> : null}
              </tr>
            ))}
          </tbody>
        </table>
        {treePath ? (
          <p>
            <Link to={routePath('repositories', repoKey, treePath)}>See it in the file tree</Link>
          </p>
        ) : null}
      </section>
    </>
  )
}

function Fact({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  )
}

/** A format's section, rendered as it is given. */
function Section({ repoKey, name, section }: { repoKey: string; name: string; section: UiSection }) {
  const id = `section-${section.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
  const cell = (c: UiCell) => (typeof c === 'string' ? c : <Link to={packageLink(repoKey, name, c.version)}>{c.text}</Link>)
  return (
    <section aria-labelledby={id} data-section={section.title}>
      <h2 id={id}>{section.title}</h2>
      {section.kind === 'pairs' ? (
        <dl className="facts">
          {section.pairs.map(([k, v]) => (
            <Fact key={k} label={k} value={<span className="wrap">{v}</span>} />
          ))}
        </dl>
      ) : section.kind === 'list' ? (
        section.items.length === 0 ? (
          <p className="muted">{section.empty ?? 'None.'}</p>
        ) : (
          <ul className="plain-list">
            {section.items.map((item, i) => (
              <li key={i} className="wrap">
                <code>{item}</code>
              </li>
            ))}
          </ul>
        )
      ) : section.rows.length === 0 ? (
        <p className="muted">{section.empty ?? 'None.'}</p>
      ) : (
        <table>
          <thead>
            <tr>
              {section.columns.map((c) => (
                <th scope="col" key={c}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {section.rows.map((row, i) => (
              <tr key={i}>
                {row.map((c, j) => (
                  <td key={j} className="wrap">
                    {cell(c)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
