import { parseDocument } from 'yaml'
import { isGemVersion } from './gem-version.js'
import { marshalDump, RubyHash, RubyObject, RubySymbol, RubyUserDump, RubyUserMarshal, type RubyValue } from './marshal.js'

/** One requirement: `[">=", "1.0"]`. */
export type Requirement = readonly [op: string, version: string]

export interface GemDependency {
  readonly name: string
  /** `runtime` or `development`. */
  readonly type: string
  readonly requirements: readonly Requirement[]
}

/** What Trove keeps of a gem's specification (the YAML in its metadata.gz). */
export interface GemSpec {
  readonly name: string
  readonly version: string
  /** `ruby`, or a platform such as `x86_64-linux`. */
  readonly platform: string
  readonly dependencies: readonly GemDependency[]
  readonly requiredRubyVersion: readonly Requirement[]
  readonly requiredRubygemsVersion: readonly Requirement[]
  readonly summary: string
  readonly description: string
  readonly authors: readonly string[]
  readonly email: readonly string[]
  readonly homepage: string
  readonly licenses: readonly string[]
  readonly metadata: ReadonlyMap<string, string>
  /** `YYYY-MM-DD`. */
  readonly date: string
  readonly rubygemsVersion: string
  readonly specificationVersion: number
}

/** A gem name RubyGems accepts (and a safe path segment). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
/** A platform: `ruby` or `cpu-os[-version]` words. */
const PLATFORM = /^[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*$/
const OPERATORS = new Set(['=', '!=', '>', '<', '>=', '<=', '~>'])

export function isGemName(name: string): boolean {
  return NAME.test(name) && name.length <= 200
}

export class GemspecError extends Error {}

/** A gem's file name without `.gem`: `name-version` or `name-version-platform`. */
export function fullName(spec: Pick<GemSpec, 'name' | 'version' | 'platform'>): string {
  return spec.platform === 'ruby' ? `${spec.name}-${spec.version}` : `${spec.name}-${spec.version}-${spec.platform}`
}

/**
 * Reads the gemspec YAML of a gem's metadata.gz (Psych's `!ruby/object:Gem::Specification`,
 * whose tags are read as plain maps). Throws {@link GemspecError} saying what is wrong.
 */
export function parseGemspec(text: string): GemSpec {
  const document = parseDocument(text, { schema: 'core', uniqueKeys: false })
  if (document.errors.length > 0) throw new GemspecError(`the gemspec is not YAML: ${document.errors[0]!.message}`)
  const root = document.toJS({ maxAliasCount: 100 }) as unknown
  if (!isRecord(root)) throw new GemspecError('the gemspec is not a Gem::Specification')
  const name = str(root.name)
  if (!isGemName(name)) throw new GemspecError(`the gemspec's name '${name}' is not a valid gem name`)
  const version = versionOf(root.version)
  if (!isGemVersion(version)) throw new GemspecError(`the gemspec's version '${version}' is not a valid version`)
  const platform = platformOf(root.platform)
  if (!PLATFORM.test(platform)) throw new GemspecError(`the gemspec's platform '${platform}' is not a valid platform`)
  const dependencies = (Array.isArray(root.dependencies) ? root.dependencies : []).map((d): GemDependency => {
    if (!isRecord(d) || !isGemName(str(d.name))) throw new GemspecError('the gemspec has a dependency without a valid name')
    return { name: str(d.name), type: str(d.type).replace(/^:/, '') || 'runtime', requirements: requirementsOf(d.requirement ?? d.version_requirements) }
  })
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(str(root.date))?.[1] ?? new Date().toISOString().slice(0, 10)
  return {
    name,
    version,
    platform,
    dependencies,
    requiredRubyVersion: requirementsOf(root.required_ruby_version),
    requiredRubygemsVersion: requirementsOf(root.required_rubygems_version),
    summary: str(root.summary),
    description: str(root.description),
    authors: strings(root.authors),
    email: strings(root.email),
    homepage: str(root.homepage),
    licenses: strings(root.licenses),
    metadata: new Map(isRecord(root.metadata) ? Object.entries(root.metadata).map(([k, v]) => [k, str(v)]) : []),
    date,
    rubygemsVersion: str(root.rubygems_version) || '3.3.15',
    specificationVersion: typeof root.specification_version === 'number' ? root.specification_version : 4,
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function str(value: unknown): string {
  return value === null || value === undefined ? '' : typeof value === 'object' ? '' : String(value).trim()
}

function strings(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(str).filter((s) => s !== '')
  const one = str(value)
  return one === '' ? [] : [one]
}

function versionOf(value: unknown): string {
  return isRecord(value) ? str(value.version) : str(value)
}

function platformOf(value: unknown): string {
  if (isRecord(value)) return [str(value.cpu), str(value.os), str(value.version)].filter((s) => s !== '').join('-') || 'ruby'
  return str(value) || 'ruby'
}

function requirementsOf(value: unknown): Requirement[] {
  const list = isRecord(value) && Array.isArray(value.requirements) ? value.requirements : []
  const out: Requirement[] = []
  for (const item of list) {
    if (!Array.isArray(item) || item.length !== 2) throw new GemspecError('the gemspec has a malformed requirement')
    const op = str(item[0])
    const version = versionOf(item[1])
    if (!OPERATORS.has(op) || !isGemVersion(version)) throw new GemspecError(`the gemspec has an invalid requirement '${op} ${version}'`)
    out.push([op, version])
  }
  return out.length > 0 ? out : [['>=', '0']]
}

/** Requirements as the compact index writes them: `>= 1.0, < 2`. */
export function requirementText(requirements: readonly Requirement[]): string {
  return requirements.map(([op, version]) => `${op} ${version}`).join(', ')
}

const version = (v: string) => new RubyUserMarshal('Gem::Version', [v])
const requirement = (list: readonly Requirement[]) => new RubyUserMarshal('Gem::Requirement', [list.map(([op, v]) => [op, version(v)])])

/**
 * The spec as `quick/Marshal.4.8/<full name>.gemspec.rz` holds it before deflating: a
 * Gem::Specification `_dump`, whose bytes are Marshal of the array `Gem::Specification._load` reads.
 */
export function quickSpecMarshal(spec: GemSpec): Buffer {
  const dependencies = spec.dependencies.map(
    (d) =>
      new RubyObject(
        'Gem::Dependency',
        new Map<string, RubyValue>([
          ['@name', d.name],
          ['@requirement', requirement(d.requirements)],
          ['@type', new RubySymbol(d.type === 'development' ? 'development' : 'runtime')],
          ['@prerelease', false],
          ['@version_requirements', requirement(d.requirements)],
        ]),
      ),
  )
  const fields: RubyValue[] = [
    spec.rubygemsVersion,
    spec.specificationVersion,
    spec.name,
    version(spec.version),
    spec.date,
    spec.summary,
    requirement(spec.requiredRubyVersion),
    requirement(spec.requiredRubygemsVersion),
    spec.platform,
    dependencies,
    '',
    spec.email.length === 1 ? spec.email[0]! : [...spec.email],
    [...spec.authors],
    spec.description,
    spec.homepage,
    true,
    spec.platform,
    [...spec.licenses],
    new RubyHash([...spec.metadata].map(([k, v]) => [k, v] as const)),
  ]
  return marshalDump(new RubyUserDump('Gem::Specification', marshalDump(fields)))
}
