import { randomUUID } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { type Component, type ExtractionContext, type ExtractionLimits, MAX_NESTING_DEPTH, MAX_SPOOLED_BYTES, readCapped, ScanFailure, spoolCapped, walkZip } from '../../core/index.js'

/** A pom or a `pom.properties` read at most. */
const MAX_POM_BYTES = 4 * 1024 * 1024
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/
const NESTED_ARCHIVE = /\.(?:jar|war|ear)$/i

/** `key=value` / `key: value` lines of a Java properties file (comments and blank lines skipped). */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>()
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line)
    if (match) properties.set(match[1]!, match[2]!)
  }
  return properties
}

/**
 * A jar, war or ear (a zip): spooled to the scan's scratch folder, then every
 * `META-INF/maven/<groupId>/<artifactId>/pom.properties` gives a component named
 * `groupId:artifactId` (OSV's Maven naming); jars inside (Spring Boot's `BOOT-INF/lib`, a war's
 * `WEB-INF/lib`) are spooled and read the same way, at most {@link MAX_NESTING_DEPTH} deep. The
 * archive's own coordinates are `self` when it holds one `pom.properties` at its root, the rest
 * `bundled`.
 */
export async function extractJar(source: Readable, limits: ExtractionLimits, context: ExtractionContext): Promise<Component[]> {
  const file = join(context.scratchDir, 'archive.jar')
  await spoolCapped(source, file, Math.min(limits.maxUnpackedBytes, MAX_SPOOLED_BYTES), 'the archive')
  return scanJarFile(file, limits, context, { label: 'the archive', prefix: '', relation: undefined })
}

/**
 * The components of a jar already on disk (also used for jars found in image layers). `prefix`
 * is put before every location (`BOOT-INF/lib/x.jar!/`); `relation` forces one relation for all
 * (undefined: `self` for a single root `pom.properties`, else `bundled`).
 */
export async function scanJarFile(
  file: string,
  limits: ExtractionLimits,
  context: ExtractionContext,
  options: { label: string; prefix: string; relation: Component['relation'] | undefined; depth?: number },
): Promise<Component[]> {
  const depth = options.depth ?? 0
  const own: Component[] = []
  const nested: Component[] = []
  await walkZip(file, limits, options.label, async (path, open, size) => {
    if (POM_PROPERTIES.test(path)) {
      const properties = parseProperties((await readCapped(await open(), MAX_POM_BYTES, path)).toString('utf8'))
      const groupId = properties.get('groupId')
      const artifactId = properties.get('artifactId')
      const version = properties.get('version')
      if (groupId && artifactId && version) {
        own.push({ ecosystem: 'Maven', name: `${groupId}:${artifactId}`, version, relation: 'bundled', location: `${options.prefix}${path}` })
      }
      return
    }
    if (!NESTED_ARCHIVE.test(path)) return
    if (depth + 1 > MAX_NESTING_DEPTH) throw new ScanFailure(`archives nested more than ${MAX_NESTING_DEPTH} deep (${options.prefix}${path})`)
    if (size > MAX_SPOOLED_BYTES) throw new ScanFailure(`${options.prefix}${path} is larger than ${MAX_SPOOLED_BYTES} bytes`)
    const inner = join(context.scratchDir, `nested-${randomUUID()}.jar`)
    try {
      await spoolCapped(await open(), inner, MAX_SPOOLED_BYTES, `${options.prefix}${path}`)
      nested.push(
        ...(await scanJarFile(inner, limits, context, {
          label: `${options.prefix}${path}`,
          prefix: `${options.prefix}${path}!/`,
          relation: options.relation ?? 'bundled',
          depth: depth + 1,
        })),
      )
    } finally {
      await rm(inner, { force: true })
    }
    if (own.length + nested.length > limits.maxComponents) throw new ScanFailure(`more than ${limits.maxComponents} components`)
  })
  const relation = options.relation ?? (own.length === 1 ? 'self' : 'bundled')
  return [...own.map((c) => ({ ...c, relation })), ...nested]
}

type Xml = Record<string, unknown>

const parser = new XMLParser({
  ignoreAttributes: true,
  // Versions stay strings (`1.10` is not `1.1`); no entity expansion (no billion laughs, no XXE).
  parseTagValue: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
})

/**
 * A `.pom`: the project's coordinates (`groupId` and `version` inherited from `<parent>` when
 * absent) and its dependencies with a version written in the pom (properties `${...}` resolved
 * from `<properties>`, `project.version` and `project.parent.version`; a version left unresolved
 * or a range is listed as written and not matched).
 */
export async function extractPom(source: Readable, _limits: ExtractionLimits): Promise<Component[]> {
  const bytes = await readCapped(source, MAX_POM_BYTES, 'the pom')
  const xml = bytes.toString('utf8')
  // The parser is lenient (an unclosed tag parses); a pom that Maven would refuse is refused here too.
  const valid = XMLValidator.validate(xml)
  if (valid !== true) throw new ScanFailure(`the pom is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`)
  let document: Xml
  try {
    document = parser.parse(xml) as Xml
  } catch (err) {
    throw new ScanFailure(`the pom is not well-formed XML: ${(err as Error).message}`)
  }
  const project = document.project
  if (typeof project !== 'object' || project === null) throw new ScanFailure('the pom has no <project> element')
  return componentsOfPom(project as Xml)
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}

export function componentsOfPom(project: Xml): Component[] {
  const parent = (typeof project.parent === 'object' && project.parent !== null ? project.parent : {}) as Xml
  const groupId = text(project.groupId) ?? text(parent.groupId)
  const artifactId = text(project.artifactId)
  const rawVersion = text(project.version) ?? text(parent.version)
  const properties = new Map<string, string>()
  if (typeof project.properties === 'object' && project.properties !== null) {
    for (const [key, value] of Object.entries(project.properties as Xml)) if (text(value)) properties.set(key, text(value)!)
  }
  if (text(parent.version)) properties.set('project.parent.version', text(parent.version)!)
  if (text(parent.groupId)) properties.set('project.parent.groupId', text(parent.groupId)!)
  const resolve = (value: string | undefined, depth = 0): string | undefined => {
    if (value === undefined || depth > 8) return value
    const next = value.replace(/\$\{([^}]+)\}/g, (whole, key: string) => properties.get(key) ?? whole)
    return next === value ? value : resolve(next, depth + 1)
  }
  const version = resolve(rawVersion)
  if (version) properties.set('project.version', version).set('version', version)
  if (groupId) properties.set('project.groupId', groupId)
  const found: Component[] = []
  if (groupId && artifactId && version) found.push({ ecosystem: 'Maven', name: `${resolve(groupId)}:${artifactId}`, version, relation: 'self', location: 'pom.xml' })
  const dependencies = (project.dependencies as Xml | undefined)?.dependency
  for (const dependency of (Array.isArray(dependencies) ? dependencies : dependencies ? [dependencies] : []) as Xml[]) {
    const g = resolve(text(dependency.groupId))
    const a = resolve(text(dependency.artifactId))
    const v = resolve(text(dependency.version))
    if (g && a && v) found.push({ ecosystem: 'Maven', name: `${g}:${a}`, version: v, relation: 'dependency', location: 'pom.xml dependencies' })
  }
  return found
}

