import { XMLParser } from 'fast-xml-parser'
import { TroveError } from '../../core/index.js'

/** The largest POM Trove reads back to check its coordinates (real ones are a few KiB; BOMs reach a few hundred). */
export const MAX_POM_BYTES = 8 * 1024 * 1024

export interface PomCoordinates {
  readonly groupId: string | undefined
  readonly artifactId: string | undefined
  readonly version: string | undefined
  readonly packaging: string | undefined
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true })

/**
 * A POM's coordinates as Maven reads them: `groupId` and `version` inherited from `<parent>` when
 * the project does not set them, `${…}` references resolved against the project's own
 * `<properties>` and `project.*`/`parent.*` values. A reference it cannot resolve stays in the
 * value (the caller decides; Trove does not evaluate profiles or the parent's properties).
 * `BAD_REQUEST` when the document is not a POM.
 */
export function readPomCoordinates(xml: Buffer | string): PomCoordinates {
  let document: Record<string, unknown>
  try {
    document = parser.parse(xml) as Record<string, unknown>
  } catch (err) {
    throw new TroveError('BAD_REQUEST', `the POM is not well-formed XML: ${(err as Error).message}`)
  }
  const project = document.project
  if (!isRecord(project)) throw new TroveError('BAD_REQUEST', 'the POM has no <project> root element')
  const parent = isRecord(project.parent) ? project.parent : {}
  const properties = isRecord(project.properties) ? project.properties : {}
  const raw = {
    groupId: text(project.groupId) ?? text(parent.groupId),
    artifactId: text(project.artifactId),
    version: text(project.version) ?? text(parent.version),
    packaging: text(project.packaging),
  }
  const known: Record<string, string | undefined> = {
    'project.groupId': raw.groupId,
    'pom.groupId': raw.groupId,
    'project.artifactId': raw.artifactId,
    'project.version': raw.version,
    'pom.version': raw.version,
    'project.parent.groupId': text(parent.groupId),
    'parent.groupId': text(parent.groupId),
    'project.parent.version': text(parent.version),
    'parent.version': text(parent.version),
  }
  for (const [name, value] of Object.entries(properties)) known[name] = text(value)
  const resolve = (value: string | undefined, depth = 0): string | undefined => {
    if (value === undefined || !value.includes('${') || depth > 5) return value
    return resolve(
      value.replace(/\$\{([^}]+)\}/g, (whole, name: string) => known[name] ?? whole),
      depth + 1,
    )
  }
  return {
    groupId: resolve(raw.groupId),
    artifactId: resolve(raw.artifactId),
    version: resolve(raw.version),
    packaging: resolve(raw.packaging),
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  return undefined
}
