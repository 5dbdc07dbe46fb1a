import type { UsageReport } from '../../../src/api/lifecycle-usage.js'
import { getJson } from '../api.js'
import { ErrorMessage, Loading, useAsync } from '../components.js'
import { formatBytes, formatDate } from '../format.js'

/**
 * Storage usage of a repository or a project (docs/lifecycle.md): bytes as stored and after
 * deduplication, what the trash holds, packages, the largest ones, growth by day and what cleanups
 * freed. Folded until opened.
 */
export function UsageSummary({ scope, name }: { scope: 'repositories' | 'projects'; name: string }) {
  const { value, error, loading } = useAsync((signal) => getJson<UsageReport>(`/api/v1/usage/${scope}/${encodeURIComponent(name)}`, { signal }), [scope, name])
  return (
    <details className="usage-report" data-testid="usage-report">
      <summary>Storage usage</summary>
      {loading && !value ? <Loading /> : error ? <ErrorMessage error={error} /> : value ? <Figures report={value} /> : null}
    </details>
  )
}

function Figures({ report }: { report: UsageReport }) {
  const growth = report.growth.slice(-14)
  return (
    <>
      <dl className="facts">
        <dt>Files</dt>
        <dd data-testid="usage-files">{report.files}</dd>
        <dt>Size</dt>
        <dd data-testid="usage-logical">{formatBytes(report.logicalBytes)}</dd>
        <dt>Stored (after deduplication)</dt>
        <dd data-testid="usage-stored">{formatBytes(report.storedBytes)}</dd>
        <dt>In the trash can (counted on the quota until emptied)</dt>
        <dd data-testid="usage-trash">
          {report.trashFiles} files, {formatBytes(report.trashBytes)}
        </dd>
        <dt>Packages</dt>
        <dd>{report.packages}</dd>
        <dt>Freed by cleanups</dt>
        <dd>{formatBytes(report.freedBytesTotal)}</dd>
      </dl>
      {report.largestPackages.length > 0 ? (
        <table data-testid="usage-largest">
          <caption>Largest packages</caption>
          <thead>
            <tr>
              <th scope="col">Package</th>
              <th scope="col">Repository</th>
              <th scope="col" className="num">Files</th>
              <th scope="col" className="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {report.largestPackages.map((p) => (
              <tr key={`${p.repoKey}/${p.name}`}>
                <th scope="row">{p.name}</th>
                <td>{p.repoKey}</td>
                <td className="num">{p.files}</td>
                <td className="num">{formatBytes(p.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {growth.length > 0 ? (
        <table data-testid="usage-growth">
          <caption>Growth (daily)</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col" className="num">Files</th>
              <th scope="col" className="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {growth.map((g) => (
              <tr key={g.day}>
                <th scope="row">{g.day}</th>
                <td className="num">{g.files}</td>
                <td className="num">{formatBytes(g.logicalBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {report.freed.length > 0 ? (
        <table data-testid="usage-freed">
          <caption>Latest cleanups</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">By</th>
              <th scope="col" className="num">Files</th>
              <th scope="col" className="num">Freed</th>
            </tr>
          </thead>
          <tbody>
            {report.freed.map((f, i) => (
              <tr key={i}>
                <td>{formatDate(f.at)}</td>
                <td>{f.source}</td>
                <td className="num">{f.files}</td>
                <td className="num">{formatBytes(f.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  )
}
