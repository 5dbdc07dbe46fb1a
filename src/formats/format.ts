import type { FastifyInstance } from 'fastify'
import type { ConsoleDescriptor, SetupContext, Snippet } from '../api/formats.js'
import type { PlainLayout } from '../core/artifacts/plain-layout.js'
import type { RepositoryClass } from '../core/repositories/repository-service.js'
import type { FormatScanning } from '../core/scanning/format-scanning.js'
import type { RepositorySetting } from '../core/repositories/repository-settings.js'
import type { CoreServices } from '../core/services.js'

/**
 * One package type. A format owns meaning (identity, metadata, its wire protocol and error
 * bodies) and uses core services for bytes and policy. Adding a format adds a folder and one
 * line in `formats/index.ts`.
 */
export interface Format {
  /** The Artifactory `packageType` it serves, e.g. `generic`, `docker`, `npm`. */
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
   * Set Me Up: the commands and files that point a client at one repository. Pure; the server
   * renders them for the console (`GET /api/v1/ui/repositories/{key}/set-me-up`) with the token
   * placeholder, and test/e2e/set-me-up.test.ts runs them with the real clients.
   */
  setMeUp?(context: SetupContext): Snippet[]
  /** How the console speaks of this format's content. */
  readonly console?: ConsoleDescriptor
  /**
   * Registers the format's own routes (if any) in an encapsulated plugin, with its own error
   * handler. Plain-layout formats (generic) are served by the core's `/artifactory/{repo}/{path}`.
   */
  register(app: FastifyInstance, services: CoreServices): Promise<void>
  /**
   * For formats whose files live on the core's plain layout (Maven, Helm): their rules there
   * (generated files, deploy checks, work after a change). Generic has none.
   */
  plainLayout?(services: CoreServices): PlainLayout
}
