import type { FormatContext, Repository, ResolutionCaller } from '../../core/index.js'
import { PROPERTY, type CargoLayout } from './cargo-layout.js'
import { compareCrateVersions } from './versions.js'

/** One hit of `cargo search`, as the registries answer it. */
export interface SearchHit {
  readonly name: string
  readonly max_version: string
  readonly description: string | null
}

export const MAX_PER_PAGE = 100

/**
 * `cargo search` (`GET /api/v1/crates?q=…&per_page=…`): crates whose name contains the query
 * (case-insensitively, `-` and `_` alike), with their newest version that is not yanked (or the
 * newest, when all are). Over the local repositories a request reaches (a virtual's local members,
 * in member order, the first holding a name wins); what remote repositories could pull is not
 * searched, as their upstream's index has no search.
 */
export async function searchCrates(
  services: FormatContext,
  layout: CargoLayout,
  repository: Repository,
  query: string,
  perPage: number,
  caller: ResolutionCaller,
): Promise<{ crates: SearchHit[]; total: number }> {
  const wanted = canonical(query.trim())
  const found = new Map<string, SearchHit>()
  for await (const { repository: member } of services.resolution.members(repository, {}, caller)) {
    if (member.rclass === 'remote') continue
    for (const folder of (await services.artifacts.children(member.key, '')).folders) {
      if (found.has(folder) || !canonical(folder).includes(wanted)) continue
      const lines = await layout.localLines(member, folder)
      if (lines.length === 0) continue
      const usable = lines.filter((l) => !l.yanked)
      const newest = (usable.length > 0 ? usable : lines).reduce((a, b) => (compareCrateVersions(a.vers, b.vers) >= 0 ? a : b))
      const path = `${folder}/${folder}-${newest.vers}.crate`
      const description = (await services.artifacts.getProperties(member.key, path)).get(PROPERTY.description)?.[0] ?? null
      found.set(folder, { name: newest.name, max_version: newest.vers, description })
    }
  }
  const crates = [...found.values()].sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1))
  return { crates: crates.slice(0, perPage), total: crates.length }
}

function canonical(name: string): string {
  return name.toLowerCase().replace(/-/g, '_')
}
