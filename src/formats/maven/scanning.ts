import { randomUUID } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { type Ecosystem, type Extractor, type FormatScanning, type InstalledPackageReader, MAX_SPOOLED_BYTES, purlVersion, spoolCapped } from '../../core/index.js'
import { extractJar, extractPom, scanJarFile } from './archive-components.js'
import { compareMavenVersions } from './maven-version.js'

const ARCHIVE = /\.(?:jar|war|ear)$/i

/** Maven's OSV ecosystem: names are `groupId:artifactId`, compared exactly; Maven's version order. */
export const MAVEN_ECOSYSTEM: Ecosystem = {
  osv: 'Maven',
  compare: compareMavenVersions,
  purl: (name, version) => {
    const [group, artifact] = name.split(':')
    return artifact ? `pkg:maven/${encodeURIComponent(group!)}/${encodeURIComponent(artifact)}${purlVersion(version)}` : undefined
  },
  xrayComponentId: (name, version) => `gav://${name}:${version}`,
}

/** Jars, wars and ears, whatever the repository type (Maven, generic), except docker's. */
export const MAVEN_ARCHIVE_EXTRACTOR: Extractor = {
  format: 'maven-archive',
  accepts: (repository, path) => repository.packageType !== 'docker' && ARCHIVE.test(path),
  extract: extractJar,
}

/** Poms, whatever the repository type, except docker's. */
export const MAVEN_POM_EXTRACTOR: Extractor = {
  format: 'maven-pom',
  accepts: (repository, path) => repository.packageType !== 'docker' && /\.pom$/i.test(path),
  extract: (source, limits) => extractPom(source, limits),
}

/** Jars, wars and ears in a file system (an image's layers): each is spooled and read as a jar, all its components `installed`. */
export const MAVEN_INSTALLED_READER: InstalledPackageReader = {
  accepts: (path) => ARCHIVE.test(path),
  async read(source, file, limits, context) {
    const spooled = join(context.scratchDir, `installed-${randomUUID()}.jar`)
    try {
      await spoolCapped(source, spooled, MAX_SPOOLED_BYTES, file.where)
      return await scanJarFile(spooled, limits, context, { label: file.where, prefix: `${file.where}!/`, relation: 'installed' })
    } finally {
      await rm(spooled, { force: true })
    }
  },
}

/** What the Maven format gives the scanner. */
export const mavenScanning: FormatScanning = {
  extractors: [MAVEN_ARCHIVE_EXTRACTOR, MAVEN_POM_EXTRACTOR],
  ecosystems: [MAVEN_ECOSYSTEM],
  installed: [MAVEN_INSTALLED_READER],
}
