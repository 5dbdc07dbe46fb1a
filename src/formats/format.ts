import type { FastifyInstance } from 'fastify'
import type { Migration } from 'kysely'
import type { ConsoleDescriptor, SetupContext, Snippet } from '../api/formats.js'
import type { UiPackage, UiPackageSummary, UiPackageVersion } from '../api/packages.js'
import type { ConfigSection, FormatContext, FormatScanning, PackageFiles, PackageVersions, PlainLayout, RepositoryClass, RepositorySetting } from '../core/index.js'

/**
 * One package type, and the only way to add one: a format declares everything about itself here,
 * in its own folder, and the core, the HTTP layer and the console ask it. A format owns meaning
 * (identity, metadata, its wire protocol and error bodies) and uses core services for bytes and
 * policy. Adding a format adds a folder and one line in `formats/index.ts` (see
 * docs/writing-a-format.md).
 */
export interface Format {
  /** The Artifactory `packageType` it serves, e.g. `generic`, `docker`, `npm`. Unique among the formats. */
  readonly id: string
  /** For people, as the console shows it: `Docker`, `npm`, `PyPI`. */
  readonly title: string
  /** Repository classes it supports; creating another class of this type is refused. */
  readonly kinds: readonly RepositoryClass[]
  /** What the scanner gets from this format: extractors, ecosystems, readers of installed packages. */
  readonly scanning?: FormatScanning
  /** Repository settings this format adds (Artifactory field names), validated on create/update, described for the console. */
  readonly settings?: readonly RepositorySetting[]
  /**
   * The migrations of the format's own tables, applied with the core's as one set in the lexical
   * order of their names (new ones: `20261207-<format>-<what>`). A name is never reused or
   * renamed once landed; two formats declaring one name are refused at start. The tables' types
   * are the format's too (`tables.ts`), reached through `FormatContext.tables<T>()`.
   */
  readonly migrations?: Readonly<Record<string, Migration>>
  /**
   * The format's section of the configuration (YAML key, `TROVE_*` variables, validation and
   * defaults), which the core's loader applies like its own; read it with `FormatContext.section`.
   */
  readonly config?: ConfigSection
  /**
   * Set Me Up: the commands and files that point a client at one repository. Pure; the server
   * renders them for the console (`GET /api/v1/ui/repositories/{key}/set-me-up`) with the token
   * placeholder, and test/e2e/set-me-up.test.ts runs them with the real clients.
   */
  setMeUp?(context: SetupContext): Snippet[]
  /** How the console speaks of this format's content. */
  readonly console?: ConsoleDescriptor
  /**
   * The console's package views of the format's repositories (a repository's packages, a
   * package's versions, a version's details), read from the files the caller may read; without
   * it the console shows the file tree only.
   */
  packages?(services: FormatContext): PackageViews
  /**
   * Registers the format's own routes (if any) in an encapsulated plugin, with its own error
   * handler. Plain-layout formats (generic) are served by the core's `/artifactory/{repo}/{path}`.
   * `services`: the core's services without the raw database and storage, the format's tables
   * and its configuration section.
   */
  register(app: FastifyInstance, services: FormatContext): Promise<void>
  /**
   * For formats whose files live on the core's plain layout (Maven, Helm): their rules there
   * (generated files, deploy checks, work after a change). Generic has none.
   */
  plainLayout?(services: FormatContext): PlainLayout
  /**
   * The format's package versions, for cleanup policies and immutability rules (docs/lifecycle.md):
   * what a version is, which files it has, what else it keeps alive (an index's children) and how
   * it is deleted through the format's own delete path. Formats without it are not cleaned.
   */
  packageVersions?(services: FormatContext): PackageVersions
}

/**
 * Refuses a set of formats two of which claim one package type, one configuration section or one
 * migration name (the core's names are checked when migrating).
 */
export function assertDistinctFormats(formats: readonly Format[]): void {
  const claims = new Map<string, string>()
  const claim = (what: string, by: string) => {
    const other = claims.get(what)
    if (other !== undefined) throw new Error(`${what} is declared by the formats '${other}' and '${by}'`)
    claims.set(what, by)
  }
  for (const format of formats) {
    claim(`the package type '${format.id}'`, format.id)
    if (format.config) claim(`the configuration section '${format.config.key}'`, format.id)
    for (const name of Object.keys(format.migrations ?? {})) claim(`the migration '${name}'`, format.id)
  }
}

/** The configuration sections of `formats`, for the configuration loader. */
export function configSections(formats: readonly Format[]): ConfigSection[] {
  return formats.flatMap((format) => (format.config ? [format.config] : []))
}

/** What the route adds to a format's package views: the repository and the format's noun. */
type Shown = 'repoKey' | 'rclass' | 'noun'

/**
 * A format's package views (`Format.packages`), over the files one caller may read of one
 * repository ({@link PackageFiles}: a virtual's merged, a remote's cache). Names and versions are
 * as the client gave them; an unknown one is `undefined` (the route answers 404).
 */
export interface PackageViews {
  /** The packages, in any order (the route sorts and filters). */
  list(files: PackageFiles): Promise<UiPackageSummary[]>
  /** A package's versions, newest first. */
  package(files: PackageFiles, name: string): Promise<Omit<UiPackage, Shown> | undefined>
  /** One version; `setup` names the repository, the caller and the address for its install commands. */
  version(files: PackageFiles, name: string, version: string, setup: SetupContext): Promise<Omit<UiPackageVersion, Shown> | undefined>
}
