import type { Kysely, Transaction } from 'kysely'
import { sectionOf, type ConfigSection } from '../config/sections.js'
import type { CoreServices } from './services.js'

/** The core's services as a format gets them: without the raw database handle and the storage driver. */
export type FormatServices = Omit<CoreServices, 'metadata' | 'storage'>

declare const unitOfWork: unique symbol

/**
 * A change of files in progress, as the core hands it to a format that writes rows with the
 * change (`alongside` of `ArtifactService.applyChanges`): a typed unit of work, opaque to the
 * format, which can only reach its own tables in it through {@link FormatTables.within}; the
 * files, the quota charge and the format's rows commit or roll back together.
 */
export interface ChangeTransaction {
  readonly [unitOfWork]: 'a change of files in progress'
}

/** A format's own tables, and nothing else of the metadata store. */
export interface FormatTables<T> {
  /** The format's tables (`T`: the table interfaces it declares beside its migrations). */
  readonly db: Kysely<T>
  /**
   * The same tables inside a transaction the core opened for a change of files (the `alongside`
   * callback of `ArtifactService.applyChanges`), so that the format's rows and the files commit
   * or roll back together.
   */
  within(trx: ChangeTransaction): Transaction<T>
}

/**
 * What `Format.register` (and `Format.plainLayout`) get: the core's services for bytes and
 * policy, the format's section of the configuration and a handle on the format's own tables.
 */
export interface FormatContext extends FormatServices {
  /** The format's tables, typed as it declares them (`ctx.tables<NpmTables>()`). */
  tables<T>(): FormatTables<T>
  /** The format's section of the configuration (`Format.config`), validated, its defaults applied. */
  section<T>(section: ConfigSection<T>): T
}

/** The context of one format. */
export function formatContext(core: CoreServices): FormatContext {
  const { metadata, storage: _storage, ...services } = core
  return {
    ...services,
    tables<T>(): FormatTables<T> {
      return {
        // The core's handle, typed to the format's tables only: the format cannot name another's.
        db: metadata.db as unknown as Kysely<T>,
        within: (trx) => trx as unknown as Transaction<T>,
      }
    },
    section: (section) => sectionOf(core.config.sections, section),
  }
}
