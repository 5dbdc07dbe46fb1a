import { baseEcosystem } from './versions/index.js'

/**
 * A package name as the ecosystem compares it: PyPI after PEP 503 normalisation, npm
 * case-insensitively (advisories spell `Axios`; npm itself forbids new upper-case names), every
 * other ecosystem exactly (Maven `groupId:artifactId`, Go module paths, distro package names).
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  switch (baseEcosystem(ecosystem)) {
    case 'PyPI':
      return name.toLowerCase().replace(/[-_.]+/g, '-')
    case 'npm':
      return name.toLowerCase()
    default:
      return name
  }
}
