import { clean as cleanVersion } from '@renovatebot/pep440'
import { TroveError } from '../../core/index.js'

/** PEP 508 project names: letters, digits, `.`, `_`, `-`; starting and ending with a letter or digit. */
const PROJECT_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i
/** A wheel tag (PEP 425), possibly a compressed set joined by `.` (`py2.py3`). */
const WHEEL_TAG = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/i

/** PEP 503 normalisation: runs of `-`, `_` and `.` become one `-`, lower case. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase()
}

export function isValidProjectName(name: string): boolean {
  return PROJECT_NAME.test(name)
}

/**
 * The PEP 440 normal form of a version (`1.0RC1` → `1.0rc1`), or `undefined` when it is not a
 * valid version. Folders and the comparison of a filename's version with the form's use it.
 */
export function normalVersion(version: string): string | undefined {
  try {
    return cleanVersion(version.trim()) ?? undefined
  } catch {
    return undefined
  }
}

export type DistributionKind = 'wheel' | 'sdist'

/** What a distribution's filename says (PEP 427 for wheels, PEP 625 and before for sdists). */
export interface DistributionFile {
  readonly filename: string
  readonly kind: DistributionKind
  /** The name as written in the filename (escaped: `_` for runs of other characters). */
  readonly name: string
  /** The version as written in the filename. */
  readonly version: string
  /** Wheel tags (`py3-none-any`), for wheels only. */
  readonly tags?: { readonly python: string; readonly abi: string; readonly platform: string; readonly build: string | undefined }
}

const SDIST_EXTENSIONS = ['.tar.gz', '.zip'] as const

/** Whether a file name is one this format serves (wheels and sdists), whatever its validity. */
export function isDistributionFilename(filename: string): boolean {
  return filename.endsWith('.whl') || SDIST_EXTENSIONS.some((e) => filename.endsWith(e))
}

/**
 * Parses a distribution filename against the project it is uploaded to, with PyPI's messages for
 * what it refuses (twine prints them). `project` is the name from the upload form.
 */
export function parseDistributionFilename(filename: string, project: string): DistributionFile {
  if (filename === '' || filename.includes('/') || filename.includes('\\') || filename.startsWith('.')) {
    throw invalid(`Invalid distribution file name '${filename}'.`)
  }
  if (filename.endsWith('.whl')) return parseWheel(filename, project)
  const extension = SDIST_EXTENSIONS.find((e) => filename.endsWith(e))
  if (!extension) {
    throw invalid(`Invalid file extension: Use .tar.gz, .whl or .zip extension (wheel or sdist); '${filename}' is neither.`)
  }
  const stem = filename.slice(0, -extension.length)
  const wanted = normalizeName(project)
  // The name may itself contain '-': the version starts after the first '-' whose prefix is the project.
  for (let i = stem.indexOf('-'); i !== -1; i = stem.indexOf('-', i + 1)) {
    if (normalizeName(stem.slice(0, i)) === wanted) return { filename, kind: 'sdist', name: stem.slice(0, i), version: stem.slice(i + 1) }
  }
  throw invalid(`Start filename for '${project}' with '${project.replace(/[-_.]+/g, '_').toLowerCase()}-' (got '${filename}').`)
}

function parseWheel(filename: string, project: string): DistributionFile {
  const parts = filename.slice(0, -'.whl'.length).split('-')
  if (parts.length !== 5 && parts.length !== 6) {
    throw invalid(`Invalid wheel filename (wrong number of parts): '${filename}'.`)
  }
  const [name, version] = parts as [string, string]
  const build = parts.length === 6 ? parts[2] : undefined
  const [python, abi, platform] = parts.slice(-3) as [string, string, string]
  if (normalizeName(name) !== normalizeName(project)) {
    throw invalid(`Start filename for '${project}' with '${project.replace(/[-_.]+/g, '_').toLowerCase()}-' (got '${filename}').`)
  }
  if (build !== undefined && !/^\d[A-Za-z0-9_.]*$/.test(build)) {
    throw invalid(`Invalid build number '${build}' in wheel filename '${filename}': it must start with a digit.`)
  }
  for (const tag of [python, abi, platform]) {
    if (!WHEEL_TAG.test(tag)) throw invalid(`Invalid wheel tag '${tag}' in '${filename}' (PEP 425: letters, digits, '_', joined by '.').`)
  }
  return { filename, kind: 'wheel', name, version, tags: { python, abi, platform, build } }
}

function invalid(message: string): TroveError {
  return new TroveError('BAD_REQUEST', message)
}
