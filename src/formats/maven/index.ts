import type { Format } from '../format.js'
import { mavenScanning } from './scanning.js'
import { MavenLayout } from './maven-layout.js'
import { mavenPackageViews } from './package-views.js'
import { mavenSetMeUp } from './set-me-up.js'
import { mavenVersions } from './versions.js'

/**
 * Maven repositories (local, remote, virtual) on the core's plain layout
 * (`/artifactory/{repo}/{groupId as folders}/{artifactId}/{version}/{file}`), as Artifactory serves
 * them: the core streams, stores and resolves; {@link MavenLayout} adds Maven's rules there
 * (generated checksums and `maven-metadata.xml`, deploy checks, SNAPSHOT clean-up). No routes of
 * its own.
 */
export const mavenFormat: Format = {
  id: 'maven',
  kinds: ['local', 'remote', 'virtual'],
  scanning: mavenScanning,
  title: 'Maven',
  setMeUp: mavenSetMeUp,
  console: { packageNoun: 'artifact', browseHints: ['In the file tree, folders are <group, one folder per dot>/<artifact>/<version>, beside their maven-metadata.xml.'] },
  packages: () => mavenPackageViews(),
  packageVersions: (services) => mavenVersions(services),
  register: async () => {},
  plainLayout: (services) => new MavenLayout(services),
}
