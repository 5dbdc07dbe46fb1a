import { useState, type MouseEvent } from 'react'
import { api, ApiError, type UiScanSummary, type UiScanVulnerability, type UiSeverityLevel } from '../api.js'
import { ErrorMessage, Loading, useAsync } from '../components.js'
import { formatDate } from '../format.js'

const LEVELS: readonly UiSeverityLevel[] = ['critical', 'high', 'moderate', 'low']

export function SeverityBadge({ level }: { level: UiSeverityLevel }) {
  return <span className={`severity severity-${level}`}>{level}</span>
}

/**
 * The download button of an artifact page: before the browser downloads, it asks the download
 * policies (the console's verdict call) and, when a policy blocks the file, says why right here
 * instead of leaving the user with a bare 403.
 */
export function GuardedDownload({ repoKey, path, href }: { repoKey: string; path: string; href: string }) {
  const [refusal, setRefusal] = useState<string | undefined>()
  const click = async (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    const anchor = event.currentTarget
    setRefusal(undefined)
    try {
      const verdict = await api.downloadVerdict(repoKey, path)
      if (!verdict.allowed) {
        setRefusal(verdict.reason ?? 'A download policy blocks this file.')
        return
      }
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) {
        setRefusal((err as Error).message)
        return
      }
    }
    // Allowed: the browser downloads it as any link.
    const link = document.createElement('a')
    link.href = anchor.href
    link.download = anchor.download
    link.click()
  }
  return (
    <>
      <a className="button primary" href={href} download={path.split('/').pop()} onClick={click}>
        Download
      </a>
      {refusal ? (
        <span className="error blocked-download" role="alert" data-testid="download-refused">
          Download blocked: {refusal}
        </span>
      ) : null}
    </>
  )
}

/**
 * The scan state, findings and policy verdict of one stored file, or (`isOptional`, on a folder's
 * page) of the artifact the folder names (an image's tag: the report API resolves it).
 */
export function ArtifactSecurity({ repoKey, path, isOptional = false }: { repoKey: string; path: string; isOptional?: boolean }) {
  const report = useAsync(() => api.scanReport(repoKey, path), [repoKey, path])
  const verdict = useAsync(() => api.downloadVerdict(repoKey, path), [repoKey, path])
  // A folder has a report when the format names an artifact by it (an image's tag): else nothing shows.
  if (isOptional && (!report.value || report.value.path === path)) return null
  return (
    <section className="security" aria-labelledby="security-heading" data-testid="artifact-security">
      <h3 id="security-heading">Security</h3>
      {report.loading && !report.value ? <Loading label="Reading the scan report…" /> : null}
      {report.error instanceof ApiError && report.error.status === 404 ? (
        <p className="muted" data-testid="scan-state">
          No scan report here: reports belong to the repository that stores the file (a virtual repository's member); open the file there.
        </p>
      ) : (
        <ErrorMessage error={report.error} />
      )}
      {verdict.value ? (
        verdict.value.allowed ? (
          <p className="verdict verdict-allowed" data-testid="policy-verdict">
            {verdict.value.policies.length === 0
              ? 'No download policy covers this repository: clients may download it.'
              : `Allowed by ${plural(verdict.value.policies.length, 'policy', 'policies')} (${verdict.value.policies.join(', ')}): clients may download it.`}
          </p>
        ) : (
          <p className="verdict verdict-blocked" role="status" data-testid="policy-verdict">
            <strong>Blocked:</strong> {verdict.value.reason}. Clients that download it get 403 with this message.
          </p>
        )
      ) : null}
      {report.value ? <ReportBody report={report.value} /> : null}
    </section>
  )
}

function ReportBody({ report }: { report: NonNullable<Awaited<ReturnType<typeof api.scanReport>>> }) {
  const [minimum, setMinimum] = useState<UiSeverityLevel | ''>('')
  const [fixableOnly, setFixableOnly] = useState(false)
  const [exportError, setExportError] = useState<Error | undefined>()
  if (report.status === 'unsupported') return <p data-testid="scan-state">Not scanned: Trove's scanner does not read this kind of file (it is never blocked for its findings).</p>
  if (report.status === 'pending') return <p data-testid="scan-state">Not scanned yet: the scan runs shortly after the upload. Come back in a minute.</p>
  if (report.status === 'failed') return <p data-testid="scan-state">The scan failed: {report.reason ?? 'no reason recorded'}.</p>
  const name = report.path.split('/').pop() ?? 'artifact'
  const exportJson = () => saveFile(`${name}.scan.json`, JSON.stringify(report, null, 2), 'application/json')
  const exportSbom = async () => {
    setExportError(undefined)
    try {
      saveFile(`${name}.cdx.json`, JSON.stringify(await api.scanSbom(report.repo, report.path), null, 2), 'application/vnd.cyclonedx+json')
    } catch (err) {
      setExportError(err as Error)
    }
  }
  const shown = report.vulnerabilities.filter((v) => (minimum === '' || rank(v.level) >= rank(minimum)) && (!fixableOnly || v.components.some((c) => c.fixedVersions.length > 0)))
  return (
    <>
      <p data-testid="scan-state">
        Scanned {report.scannedAt ? formatDate(Date.parse(report.scannedAt)) : ''}: {report.components.length} components,{' '}
        {report.vulnerabilities.length === 0 ? 'no known vulnerabilities.' : `${plural(report.vulnerabilities.length, 'vulnerability', 'vulnerabilities')} (${countsText(report.vulnerabilities)}).`}
      </p>
      <p className="actions">
        <button type="button" className="small" onClick={exportJson}>
          Export report as JSON
        </button>{' '}
        <button type="button" className="small" onClick={exportSbom}>
          Export SBOM (CycloneDX)
        </button>
      </p>
      <ErrorMessage error={exportError} />
      {report.skipped.length > 0 ? (
        <p className="muted">Not read: {report.skipped.map((s) => `${s.location} (${s.reason})`).join('; ')}</p>
      ) : null}
      {report.vulnerabilities.length > 0 ? (
        <>
          <div className="filters">
            <label>
              Minimum severity{' '}
              <select value={minimum} onChange={(e) => setMinimum(e.target.value as UiSeverityLevel | '')}>
                <option value="">all</option>
                {LEVELS.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </label>{' '}
            <label>
              <input type="checkbox" checked={fixableOnly} onChange={(e) => setFixableOnly(e.target.checked)} /> Only fixable
            </label>
          </div>
          <FindingsTable vulnerabilities={shown} />
        </>
      ) : null}
    </>
  )
}

function FindingsTable({ vulnerabilities }: { vulnerabilities: readonly UiScanVulnerability[] }) {
  if (vulnerabilities.length === 0) return <p className="empty">No finding matches these filters.</p>
  return (
    <div className="table-wrap">
      <table data-testid="findings">
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">CVSS</th>
            <th scope="col">Vulnerability</th>
            <th scope="col">Package</th>
            <th scope="col">Installed</th>
            <th scope="col">Fixed in</th>
            <th scope="col">Where</th>
          </tr>
        </thead>
        <tbody>
          {vulnerabilities.flatMap((v) =>
            v.components.map((c, index) => (
              <tr key={`${v.ids[0]}-${c.name}-${c.version}-${c.location}-${index}`}>
                <td>
                  <SeverityBadge level={v.level} />
                </td>
                <td className="num" title={v.cvss?.vector}>
                  {v.cvss ? v.cvss.score.toFixed(1) : '—'}
                </td>
                <th scope="row">
                  {v.ids.join(', ')}
                  {v.aliases.length > 0 ? <div className="muted">{v.aliases.join(', ')}</div> : null}
                  {v.summary ? <div className="summary">{v.summary}</div> : null}
                </th>
                <td>{c.name}</td>
                <td>{c.version}</td>
                <td>{c.fixedVersions.length > 0 ? c.fixedVersions.join(', ') : <span className="muted">no fix yet</span>}</td>
                <td className="wrap">{c.location}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  )
}

/** A repository's scan summary: counts by severity, where scans stand, worst vulnerabilities; filter and JSON export. */
export function RepositorySecurity({ repoKey }: { repoKey: string }) {
  return <SummaryView name={repoKey} load={() => api.scanSummary(repoKey)} />
}

/** A project's scan summary over all its repositories, as a repository's. */
export function ProjectSecurity({ projectKey }: { projectKey: string }) {
  return <SummaryView name={projectKey} load={() => api.projectScanSummary(projectKey)} />
}

function SummaryView({ name: repoKey, load }: { name: string; load: () => Promise<Omit<UiScanSummary, 'repo'>> }) {
  const summary = useAsync(load, [repoKey])
  const [minimum, setMinimum] = useState<UiSeverityLevel | ''>('')
  const value = summary.value
  const exportJson = () => {
    if (value) saveFile(`${repoKey}-scan-summary.json`, JSON.stringify(value, null, 2), 'application/json')
  }
  if (summary.loading && !value) return <Loading label="Reading the scan summary…" />
  if (summary.error) return <ErrorMessage error={summary.error} />
  if (!value) return null
  const a = value.artifacts
  const top = value.topVulnerabilities.filter((v) => minimum === '' || rank(v.level) >= rank(minimum))
  return (
    <section className="security" aria-labelledby="repo-security-heading" data-testid="repository-security">
      <h3 id="repo-security-heading">Security</h3>
      {a.total === 0 ? (
        <p>Nothing here is read by the scanner (no packages or images yet, or only files it does not read).</p>
      ) : (
        <>
          <p data-testid="scan-counts">
            {a.total} scannable files: {a.scanned} scanned, {a.pending} not yet scanned, {a.failed} failed; {a.vulnerable} with known vulnerabilities.
          </p>
          <table className="counts">
            <caption className="visually-hidden">Vulnerabilities by severity</caption>
            <thead>
              <tr>
                <th scope="col">Severity</th>
                <th scope="col" className="num">Vulnerabilities</th>
                <th scope="col" className="num">Findings</th>
              </tr>
            </thead>
            <tbody>
              {LEVELS.map((l) => (
                <tr key={l}>
                  <th scope="row">
                    <SeverityBadge level={l} />
                  </th>
                  <td className="num">{value.vulnerabilities[l]}</td>
                  <td className="num">{value.findings[l]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <p className="actions">
        <label>
          Show severity at least{' '}
          <select value={minimum} onChange={(e) => setMinimum(e.target.value as UiSeverityLevel | '')}>
            <option value="">all</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="button" className="small" onClick={exportJson}>
          Export as JSON
        </button>
      </p>
      {top.length > 0 ? (
        <ul className="worst" data-testid="worst-vulnerabilities">
          {top.map((v) => (
            <li key={v.ids[0]}>
              <SeverityBadge level={v.level} /> <strong>{v.ids.join(', ')}</strong>
              {v.cvssScore !== null ? ` CVSS ${v.cvssScore.toFixed(1)}` : ''}
              {v.aliases.length > 0 ? ` (${v.aliases.join(', ')})` : ''}: {plural(v.artifacts, 'artifact', 'artifacts')}, e.g. {v.examples.join(', ')}
            </li>
          ))}
        </ul>
      ) : a.total > 0 ? (
        <p className="empty">No vulnerability at this severity.</p>
      ) : null}
    </section>
  )
}

/** Saves `body` as a file named `name` (a download from memory: the report is already here). */
function saveFile(name: string, body: string, type: string): void {
  const url = URL.createObjectURL(new Blob([body], { type }))
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

function rank(level: UiSeverityLevel): number {
  return LEVELS.length - LEVELS.indexOf(level)
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

function countsText(vulnerabilities: readonly UiScanVulnerability[]): string {
  return LEVELS.map((l) => [l, vulnerabilities.filter((v) => v.level === l).length] as const)
    .filter(([, n]) => n > 0)
    .map(([l, n]) => `${n} ${l}`)
    .join(', ')
}
