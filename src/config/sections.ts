import type { z } from 'zod'

/** How a `TROVE_*` variable's text becomes a setting. */
export type EnvValueType = 'string' | 'number' | 'boolean' | 'list'

/** A `TROVE_*` environment variable and the setting it sets (a path of keys). */
export interface EnvVariable {
  readonly path: readonly string[]
  readonly type: EnvValueType
}

/**
 * A part of the configuration that is not the core's: a format's (e.g. `npm` with
 * `maxTarballBytes`). The loader applies it like its own settings: the YAML key `key`, the
 * environment variables `env` (paths relative to the section), then `schema` validates it and
 * fills in the defaults. Read it back with {@link sectionOf}.
 */
export interface ConfigSection<T = unknown> {
  /** The top-level key in the YAML file: `npm`, `oci`. Unique among the core's keys and every section's. */
  readonly key: string
  /** Validates the section and supplies every default: `schema.parse({})` is the default section. */
  readonly schema: z.ZodType<T>
  /** `TROVE_<…>` variables setting this section's fields; names unique among all. */
  readonly env?: Readonly<Record<string, EnvVariable>>
}

/** Defines a section with its type inferred from the schema. */
export function configSection<S extends z.ZodType>(section: { key: string; schema: S; env?: Readonly<Record<string, EnvVariable>> }): ConfigSection<z.output<S>> {
  return section as ConfigSection<z.output<S>>
}

/**
 * A section's value in a loaded configuration; its defaults when the configuration was loaded
 * without it (a tool that loads only the core's settings).
 */
export function sectionOf<T>(sections: Readonly<Record<string, unknown>>, section: ConfigSection<T>): T {
  return section.key in sections ? (sections[section.key] as T) : section.schema.parse({})
}
