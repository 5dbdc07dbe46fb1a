import { compareApk, compareDpkg, compareRpm, type Ecosystem, type Extractor, type FormatScanning, purlVersion } from '../../core/index.js'
import { extractOciManifest, resolveImageFile } from './image-components.js'

/** Debian and Ubuntu (dpkg): purl-spec's `deb` type with the release as `distro`; Xray's `deb://<distro>:<release>:<name>:<version>`. */
function dpkgEcosystem(osv: 'Debian' | 'Ubuntu'): Ecosystem {
  const distro = osv.toLowerCase()
  return {
    osv,
    compare: compareDpkg,
    purl: (name, version, release) => `pkg:deb/${distro}/${encodeURIComponent(name)}${purlVersion(version)}${release ? `?distro=${distro}-${encodeURIComponent(release)}` : ''}`,
    xrayComponentId: (name, version, release) => `deb://${distro}:${release ?? ''}:${name}:${version}`,
  }
}

/**
 * The distributions whose packages the image extractor finds (dpkg, apk and rpm databases), as
 * OSV names them; `osEcosystem` (os-packages.ts) adds the release (`Debian:12`, `Alpine:v3.19`).
 * Red Hat's family has no purl here: its advisories name no repository to put in one.
 */
export const OS_ECOSYSTEMS: readonly Ecosystem[] = [
  dpkgEcosystem('Debian'),
  dpkgEcosystem('Ubuntu'),
  {
    osv: 'Alpine',
    compare: compareApk,
    purl: (name, version, release) => `pkg:apk/alpine/${encodeURIComponent(name)}${purlVersion(version)}${release ? `?distro=alpine-${encodeURIComponent(release.replace(/^v/, ''))}` : ''}`,
    xrayComponentId: (name, version, release) => `alpine://${release ?? ''}:${name}:${version}`,
  },
  ...['Red Hat', 'AlmaLinux', 'Rocky Linux', 'openSUSE', 'SUSE'].map((osv): Ecosystem => ({ osv, compare: compareRpm })),
]

/** An image manifest or index in a docker repository (not a blob of the `_uploads` folder). */
export const OCI_EXTRACTOR: Extractor = {
  format: 'oci',
  accepts: (repository, path) => repository.packageType === 'docker' && /(?:^|\/)(?:list\.)?manifest\.json$/.test(path) && !path.includes('/_uploads/'),
  extract: extractOciManifest,
  // `<image>/<tag>`, `<image>:<tag>` or `<image>@sha256:<hex>`: the manifest file they name.
  resolveReportPath: async (repository, path, files) => (repository.packageType === 'docker' ? resolveImageFile(path, files) : undefined),
}

/** What the docker format gives the scanner: images, and the distributions found inside them. */
export const ociScanning: FormatScanning = {
  extractors: [OCI_EXTRACTOR],
  ecosystems: OS_ECOSYSTEMS,
}
