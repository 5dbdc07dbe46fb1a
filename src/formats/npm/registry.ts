import { type ArtifactService, type DocumentCache, notFound, type RenderedDocument, type Repository, TroveError } from '../../core/index.js'
import { isObject, type Json, type JsonObject } from './manifest.js'
import type { PackageName } from './names.js'
import { retrying, type NpmStore, type SearchHit } from './npm-store.js'
import { renderPackument, renderVersion, resolveVersion, type Packument, type PackumentVersion } from './packument.js'
import { assertTagName } from './publish.js'

/** Where a repository's registry lives for one client: `http://host/artifactory/api/npm/<repo>/`. */
export function registryUrl(baseUrl: string, repoKey: string): string {
  return `${baseUrl}/artifactory/api/npm/${encodeURIComponent(repoKey)}/`
}

/** A metadata update (PUT of a packument without tarball) split into what it asks for. */
export interface UpdatePlan {
  readonly deprecations: ReadonlyMap<string, string | null>
  /** Versions the document no longer lists (only for `PUT /<name>/-rev/<rev>`: npm unpublish). */
  readonly removals: readonly string[]
  /** The `_rev` the client read (a `-rev/<rev>` URL): changes apply only if it is still current. */
  readonly expectedRevision: string | undefined
}

/**
 * The npm registry of local repositories, past the publish: packuments (from the core's document
 * cache), versions, tarballs, dist-tags, deprecation, unpublish and search. Protocol-agnostic: the
 * routes turn HTTP into these calls.
 */
export class NpmRegistry {
  constructor(
    private readonly store: NpmStore,
    private readonly artifacts: ArtifactService,
    /** Rendered packuments; changes outside the artifact service's (dist-tags, deprecations) are told to it here. */
    private readonly documents: DocumentCache,
  ) {}

  /**
   * The serialized packument, full or abbreviated, with tarball URLs under `baseUrl`: from memory
   * until the repository changes (no query), else read and rendered.
   */
  async packumentDocument(repository: Repository, name: PackageName, options: { abbreviated: boolean; baseUrl: string; contentType: string }): Promise<RenderedDocument> {
    const key = `packument\0${name.full}\0${options.abbreviated ? 'a' : 'f'}\0${options.baseUrl}`
    return this.documents.get(repository, key, async () => {
      const packument = await this.store.packument(repository.key, name.full)
      if (!packument) throw missingPackage(repository, name)
      const document = renderPackument(packument, { abbreviated: options.abbreviated, tarballUrl: (v) => tarballUrl(options.baseUrl, v) })
      return { body: JSON.stringify(document), contentType: options.contentType }
    })
  }

  async packument(repository: Repository, name: PackageName): Promise<Packument> {
    const packument = await this.store.packument(repository.key, name.full)
    if (!packument) throw missingPackage(repository, name)
    return packument
  }

  /** `GET /<name>/<version|tag>`: one version's manifest. */
  async version(repository: Repository, name: PackageName, spec: string, baseUrl: string): Promise<JsonObject> {
    const packument = await this.packument(repository, name)
    const version = resolveVersion(packument, spec)
    if (!version) throw notFound(`${name.full}@${spec} is not in '${repository.key}'`)
    return renderVersion(version, tarballUrl(baseUrl, version))
  }

  async distTags(repository: Repository, name: PackageName): Promise<Record<string, string>> {
    return { ...(await this.packument(repository, name)).distTags }
  }

  async setTag(repository: Repository, name: PackageName, tag: string, body: unknown): Promise<void> {
    assertTagName(tag)
    if (typeof body !== 'string' || body === '') throw new TroveError('BAD_REQUEST', 'the body must be the version, as a JSON string: "1.2.3"')
    const packument = await this.packument(repository, name)
    const version = resolveVersion(packument, body)
    if (!version) throw notFound(`${name.full}@${body} is not in '${repository.key}'`)
    await this.store.setTag(repository.key, name.full, tag, version.version)
    await this.documents.changed(repository.key)
  }

  async removeTag(repository: Repository, name: PackageName, tag: string): Promise<void> {
    await this.store.removeTag(repository.key, name.full, tag)
    await this.documents.changed(repository.key)
  }

  /**
   * Reads a packument a client sent back (npm deprecate: `PUT /<name>`; npm unpublish of one
   * version: `PUT /<name>/-rev/<rev>`) and works out what it changes. Only deprecation messages
   * and, with a revision, removed versions count; other edits are ignored, since the versions'
   * manifests come from their tarballs.
   */
  async planUpdate(repository: Repository, name: PackageName, document: Json, rev: string | undefined): Promise<UpdatePlan> {
    if (!isObject(document) || !isObject(document.versions)) {
      throw new TroveError('BAD_REQUEST', 'expected a package document with "versions" (or a publish with its tarball in "_attachments")')
    }
    if (document.name !== undefined && document.name !== name.full) {
      throw new TroveError('BAD_REQUEST', `the document is for package '${String(document.name)}' but was sent to '${name.full}'`)
    }
    const expectedRevision = rev
    const current = await this.packument(repository, name)
    const existing = new Map(current.versions.map((v) => [v.version, v]))
    const deprecations = new Map<string, string | null>()
    for (const [version, manifest] of Object.entries(document.versions)) {
      const stored = existing.get(version)
      if (!stored) throw new TroveError('BAD_REQUEST', `${name.full}@${version} does not exist; publish it with its tarball`)
      const given = isObject(manifest) ? manifest.deprecated : undefined
      const message = typeof given === 'string' && given !== '' ? given : null
      if (message !== stored.deprecated) deprecations.set(version, message)
    }
    const listed = new Set(Object.keys(document.versions))
    const removals = rev === undefined ? [] : current.versions.map((v) => v.version).filter((v) => !listed.has(v))
    return { deprecations, removals, expectedRevision }
  }

  /** Applies a plan: removed versions first (with their tarballs), then deprecations. */
  async applyUpdate(repository: Repository, name: PackageName, plan: UpdatePlan, user: string): Promise<void> {
    let expected = plan.expectedRevision
    if (plan.removals.length > 0) {
      await this.removeVersions(repository, name, plan.removals, user, expected)
      expected = undefined
    }
    if (plan.deprecations.size > 0) {
      await this.store.deprecate(repository.key, name.full, plan.deprecations, expected)
      await this.documents.changed(repository.key)
    }
  }

  /** `DELETE /<name>/-rev/<rev>`: the whole package. Its tarballs' blobs are left to garbage collection. */
  async unpublishPackage(repository: Repository, name: PackageName, rev: string, user: string): Promise<void> {
    await this.removeVersions(repository, name, undefined, user, rev)
  }

  /**
   * `DELETE /<name>/-/<file>/-rev/<rev>`: npm unpublish's last step, after the version left the
   * document. Removes the version too if it is still there; 404 when neither exists.
   */
  async deleteTarball(repository: Repository, name: PackageName, file: string, user: string): Promise<void> {
    const path = `${name.full}/-/${file}`
    const version = await this.store.versionOfTarball(repository.key, name.full, path)
    if (version !== undefined) return this.removeVersions(repository, name, [version], user)
    if (!(await this.artifacts.getAsset(repository.key, path))) throw notFound(`'${path}' is not in '${repository.key}'`)
    await this.artifacts.applyChanges(repository, { removeFiles: [path] }, user)
  }

  /**
   * Removes versions (all when `versions` is undefined) and their tarballs' assets in one
   * transaction; the blobs are released to garbage collection (the core's job). Unpublish and
   * cleanup policies (versions.ts) both delete this way.
   */
  async removeVersions(repository: Repository, name: PackageName, versions: readonly string[] | undefined, user: string, expectedRevision?: string): Promise<void> {
    await retrying(name.full, async () => {
      const tarballs = await this.store.tarballsOf(repository.key, name.full, versions)
      const removed = versions ?? [...tarballs.keys()]
      if (removed.length === 0) throw missingPackage(repository, name)
      const paths = [...tarballs.values()]
      await this.artifacts.applyChanges(repository, { removeFiles: paths }, user, (trx) =>
        this.store.removeVersionsIn(trx, repository.key, name.full, removed, paths, expectedRevision),
      )
    })
  }

  async search(repository: Repository, text: string, from: number, size: number): Promise<{ total: number; hits: SearchHit[] }> {
    const terms = text
      .split(/\s+/)
      .filter((t) => t !== '')
      // Qualifiers (author:, maintainer:, not:, is:, boost-exact:) have no meaning here; keywords: and scope: do.
      .flatMap((t) => {
        const qualifier = /^([a-z-]+):(.*)$/.exec(t)
        if (!qualifier) return [t]
        if (qualifier[1] === 'keywords') return qualifier[2]!.split(',').filter((k) => k !== '')
        if (qualifier[1] === 'scope') return [`@${qualifier[2]!.replace(/^@/, '')}/`]
        return []
      })
    return this.store.search(repository.key, terms, from, size)
  }
}

export function tarballUrl(baseUrl: string, version: PackumentVersion): string {
  const path = version.tarball.path.split('/').map((s) => encodeURIComponent(s).replace(/^%40/, '@')).join('/')
  return `${registryUrl(baseUrl, version.tarball.repoKey)}${path}`
}

function missingPackage(repository: Repository, name: PackageName): TroveError {
  return notFound(`package ${name.full} is not in '${repository.key}'`)
}
