/**
 * Scan reports, summaries and download verdicts as the console reads them: `GET
 * /api/v1/scan/artifact/<repo>/<path>`, `GET /api/v1/scan/repository/<repo>/summary` (docs/scanning.md)
 * and the console's `GET /api/v1/ui/scan/verdict/<repo>/<path>`.
 */

export type UiSeverityLevel = 'low' | 'moderate' | 'high' | 'critical'

/** One vulnerability of a report, worst first, with where it was found. */
export interface UiScanVulnerability {
  readonly ids: readonly string[]
  readonly aliases: readonly string[]
  readonly summary: string | null
  readonly level: UiSeverityLevel
  readonly levelSource: 'advisory' | 'cvss' | 'default'
  readonly cvss: { readonly version: string; readonly score: number; readonly vector: string } | null
  readonly components: readonly {
    readonly name: string
    readonly version: string
    readonly relation: string
    readonly location: string
    readonly fixedVersions: readonly string[]
  }[]
}

/** `GET /api/v1/scan/artifact/<repo>/<path>` (the fields the console reads). */
export interface UiScanReport {
  readonly repo: string
  readonly path: string
  readonly sha256: string
  readonly status: 'done' | 'failed' | 'pending' | 'unsupported'
  readonly reason: string | null
  readonly scannedAt: string | null
  readonly matchedAt: string | null
  readonly components: readonly unknown[]
  readonly vulnerabilities: readonly UiScanVulnerability[]
  readonly skipped: readonly { readonly location: string; readonly reason: string }[]
}

type Counts = { readonly [level in UiSeverityLevel]: number }

/** `GET /api/v1/scan/repository/<repo>/summary`. */
export interface UiScanSummary {
  readonly repo: string
  readonly artifacts: { readonly total: number; readonly scanned: number; readonly failed: number; readonly pending: number; readonly vulnerable: number }
  readonly vulnerabilities: Counts
  readonly findings: Counts
  readonly topVulnerabilities: readonly {
    readonly ids: readonly string[]
    readonly aliases: readonly string[]
    readonly summary: string | null
    readonly level: UiSeverityLevel
    readonly cvssScore: number | null
    readonly artifacts: number
    readonly examples: readonly string[]
  }[]
}

/**
 * `GET /api/v1/ui/scan/verdict/<repo>/<path>`: whether the download policies let the caller
 * download the file now, and if not, the refusal a client gets (its message and details).
 */
export interface UiDownloadVerdict {
  readonly allowed: boolean
  /** The policies that cover the repository (enabled ones). */
  readonly policies: readonly string[]
  /** When refused: the message a client sees in its 403. */
  readonly reason?: string
  readonly details?: { readonly policy?: string; readonly [field: string]: unknown }
}
