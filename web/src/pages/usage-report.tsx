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
      <ReportTable
        testId="usage-largest"
        caption="Largest packages"
        head={['Package', 'Repository', 'Files', 'Size']}
        rows={report.largestPackages.map((p) => [p.name, p.repoKey, p.files, formatBytes(p.bytes)])}
      />
      <ReportTable
        testId="usage-growth"
        caption="Growth (daily)"
        head={['Day', 'Files', 'Size']}
        rows={growth.map((g) => [g.day, g.files, formatBytes(g.logicalBytes)])}
      />
      <ReportTable
        testId="usage-freed"
        caption="Latest cleanups"
        head={['When', 'By', 'Files', 'Freed']}
        rows={report.freed.map((f) => [formatDate(f.at), f.source, f.files, formatBytes(f.bytes)])}
      />
    </>
  )
}

/** A small table of text cells; numbers align right. Nothing when there are no rows. */
function ReportTable({ testId, caption, head, rows }: { testId: string; caption: string; head: readonly string[]; rows: readonly (readonly (string | number)[])[] }) {
  if (rows.length === 0) return null
  const isNumeric = (column: number) => typeof rows[0]![column] === 'number' || /^(Size|Freed)$/.test(head[column]!)
  return (
    <table data-testid={testId}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {head.map((h, c) => (
            <th key={h} scope="col" className={isNumeric(c) ? 'num' : undefined}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, r) => (
          <tr key={r}>
            {row.map((cell, c) => (c === 0 ? <th key={c} scope="row">{cell}</th> : <td key={c} className={isNumeric(c) ? 'num' : undefined}>{cell}</td>))}
          </tr>
        ))}
      </tbody>
    </table>
  )
}
