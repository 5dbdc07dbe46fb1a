import { TroveError, isTroveError, notFound } from '../errors.js'
import type { Repository, RepositoryService } from '../repositories/repository-service.js'

/** The per-virtual switch of the dependency-confusion guard (on unless set to `false`). */
export const CONFUSION_GUARD_FIELD = 'dependencyConfusionGuard'

/** Who asks: what they may read decides which members of a virtual are consulted. */
export interface ResolutionCaller {
  /**
   * Whether the caller may read a member of a virtual repository (a nested virtual included).
   * Reading through a virtual needs the right to read there too, as in Artifactory's docs and
   * `docs/remote-and-virtual.md`: a member the caller may not read is skipped as if it were not
   * listed. Absent: every member is readable (internal reads).
   */
  readonly canRead?: ((repoKey: string) => Promise<boolean>) | undefined
}

/** What one resolution asks the members for. */
export interface MemberRequest {
  /**
   * The path asked for, when the request names one: a virtual (the one asked, or one nested in
   * it) whose include/exclude patterns refuse the path contributes nothing. `''` (a root folder)
   * is never refused. Documents merged from many paths (an index, a packument) name none.
   */
  readonly path?: string | undefined
  /**
   * For the dependency-confusion guard: whether a local repository holds the package the request
   * names. Without it the request names no package (a plain path, a listing), and every readable
   * remote member is asked.
   */
  readonly isLocalName?: ((local: Repository) => Promise<boolean>) | undefined
  /** How a NOT_FOUND names what was asked for (`'v/x.txt'`, `package lodash`); default: the path, quoted. */
  readonly what?: string | undefined
}

/** A repository that a resolution reads: the one asked (not virtual), or a local or remote member of it. */
export interface Reached {
  readonly repository: Repository
  /** The virtual repositories it was reached through, from the one asked down to its direct parent; empty when it was asked itself. */
  readonly via: readonly Repository[]
  /**
   * For a remote member reached through a virtual whose dependency-confusion guard is on: the
   * guard's scope. A request that names one package is guarded by the engine already (such a
   * remote is not even reached when a local holds the name); a format merging many names in one
   * document (an index) drops the names {@link GuardScope.locals} hold from this member's part.
   */
  readonly guard?: GuardScope | undefined
}

/** The outermost virtual with the guard on above a remote member, and the local repositories that guard counts. */
export interface GuardScope {
  readonly virtual: Repository
  /**
   * The local repositories at any depth below {@link virtual}, readable by the caller or not: a
   * private name must never be answered with a public package, whoever asks.
   */
  locals(): Promise<readonly Repository[]>
}

/** What a member answered, with where it was found. */
export type Found<T> = Reached & { readonly value: T }

/** Every member's answer to a request, in member order (see {@link ResolutionEngine.all}). */
export interface Collected<T> {
  readonly found: readonly Found<T>[]
  /** The NOT_FOUND to answer when the format finds nothing in `found`, saying why members were passed over. */
  missing(what?: string): Promise<TroveError>
}

/** Reads one member; `undefined` (or a NOT_FOUND) when it does not have what was asked for. */
export type MemberRead<T> = (member: Reached) => Promise<T | undefined>

/**
 * What a member's failure means for the members after it, in every resolution:
 * - `absent`: NOT_FOUND. It does not have it; the next member is asked.
 * - `failed`: UPSTREAM_UNAVAILABLE or UPSTREAM_TIMEOUT. A remote member's upstream failed with
 *   nothing cached; the next member is asked, and when no member has it the first such failure
 *   is the answer (a 502/504 says what happened; a 404 would claim the thing does not exist).
 * - `fatal`: anything else (a policy refusal, bad input, an unsupported setting, a bug). It is
 *   the answer at once: a later member must not answer what an earlier one refused.
 */
export function memberFailure(err: unknown): 'absent' | 'failed' | 'fatal' {
  if (!isTroveError(err)) return 'fatal'
  if (err.code === 'NOT_FOUND') return 'absent'
  if (err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_TIMEOUT') return 'failed'
  return 'fatal'
}

/**
 * The one resolution engine of virtual (and remote, and local) repositories: every format's reads
 * through a virtual go here, so that the rules are the same whatever the package type. The engine
 * owns
 * - member order: the listed order, nested virtuals depth-first where they are listed;
 * - one `seen` rule: a repository is visited at most once per resolution (a member reached through
 *   an earlier nested virtual is not asked again; a cycle of virtuals ends there), so a shared
 *   remote is asked upstream once. A remote the guard passed over is not marked: listed again
 *   outside that guard's scope, it is asked there;
 * - readability: members the caller may not read are skipped (see {@link ResolutionCaller});
 * - the virtuals' include/exclude patterns, for requests that name a path;
 * - the dependency-confusion guard: when a local repository anywhere below a virtual whose guard
 *   is on (`dependencyConfusionGuard`, default true) holds the name asked for, no remote below
 *   that virtual is asked, nested virtuals included, whatever their own setting;
 * - which failures fall through to the next member ({@link memberFailure}).
 * A format supplies how to read one member (local or remote) and, for documents, how to merge
 * what the members answered. The policy check and the download statistics are
 * {@link Downloads}' (one download path, whichever member served the file).
 */
export class ResolutionEngine {
  constructor(private readonly repositories: Pick<RepositoryService, 'get'>) {}

  /**
   * The repositories a request to `repository` reads, lazily, in order: `repository` itself when
   * it is not virtual, else its local and remote members (nested virtuals flattened) under the
   * rules above. For listings and views; a resolution uses {@link first} or {@link all}.
   */
  async *members(repository: Repository, request: MemberRequest = {}, caller: ResolutionCaller = {}): AsyncGenerator<Reached> {
    if (repository.rclass !== 'virtual') {
      yield { repository, via: [] }
      return
    }
    yield* new Walk(this.repositories, repository, request, caller).members()
  }

  /**
   * The first answer, for files and other things one member serves whole. A repository that is not
   * virtual is read alone, its own errors unchanged. Throws the first upstream failure when no
   * member had it and a remote member failed, else NOT_FOUND (saying why members were passed over).
   */
  async first<T>(repository: Repository, request: MemberRequest, caller: ResolutionCaller, read: MemberRead<T>): Promise<Found<T>> {
    if (repository.rclass !== 'virtual') {
      const value = await read({ repository, via: [] })
      if (value === undefined) throw notFound(`${whatOf(request)} is not in '${repository.key}'`)
      return { repository, via: [], value }
    }
    const walk = new Walk(this.repositories, repository, request, caller)
    let failure: TroveError | undefined
    for await (const member of walk.members()) {
      let value: T | undefined
      try {
        value = await read(member)
      } catch (err) {
        failure = remember(err, failure)
        continue
      }
      if (value !== undefined) return { ...member, value }
    }
    if (failure) throw failure
    throw await walk.missing(whatOf(request))
  }

  /**
   * Every member's answer, in order, for documents a format merges (packuments, project pages,
   * indexes, `maven-metadata.xml`, tag lists). Members that fail with a fall-through error are left
   * out; when none answered and one failed upstream, that failure is thrown. A repository that is
   * not virtual is read alone, its own errors unchanged (NOT_FOUND included).
   */
  async all<T>(repository: Repository, request: MemberRequest, caller: ResolutionCaller, read: MemberRead<T>): Promise<Collected<T>> {
    if (repository.rclass !== 'virtual') {
      const value = await read({ repository, via: [] })
      const found = value === undefined ? [] : [{ repository, via: [], value }]
      return { found, missing: async (what) => notFound(`${what ?? whatOf(request)} is not in '${repository.key}'`) }
    }
    const walk = new Walk(this.repositories, repository, request, caller)
    const found: Found<T>[] = []
    let failure: TroveError | undefined
    for await (const member of walk.members()) {
      try {
        const value = await read(member)
        if (value !== undefined) found.push({ ...member, value })
      } catch (err) {
        failure = remember(err, failure)
      }
    }
    if (found.length === 0 && failure) throw failure
    return { found, missing: (what) => walk.missing(what ?? whatOf(request)) }
  }
}

/** Throws a fatal failure; keeps the first upstream failure. */
function remember(err: unknown, failure: TroveError | undefined): TroveError | undefined {
  const kind = memberFailure(err)
  if (kind === 'fatal') throw err
  return kind === 'failed' ? (failure ?? (err as TroveError)) : failure
}

function whatOf(request: MemberRequest): string {
  return request.what ?? (request.path !== undefined ? `'${request.path}'` : 'it')
}

/** One resolution's traversal of a virtual repository: its `seen` set, and why members were passed over. */
class Walk {
  private readonly seen = new Set<string>()
  /** Virtuals whose include/exclude patterns refused the path. */
  private readonly excludedBy: string[] = []
  /** The first guard that passed a remote member over. */
  private guarded: Scope | undefined

  constructor(
    private readonly repositories: Pick<RepositoryService, 'get'>,
    private readonly asked: Repository,
    private readonly request: MemberRequest,
    private readonly caller: ResolutionCaller,
  ) {}

  members(): AsyncGenerator<Reached> {
    return this.descend(this.asked, [], undefined)
  }

  private async *descend(virtual: Repository, via: readonly Repository[], outer: Scope | undefined): AsyncGenerator<Reached> {
    this.seen.add(virtual.key)
    const path = this.request.path
    if (path !== undefined && path !== '' && !virtual.isPathAllowed(path)) {
      this.excludedBy.push(virtual.key)
      return
    }
    const chain = [...via, virtual]
    // The outermost guard decides: the locals below it include those below any inner one.
    const scope = outer ?? (virtual.config[CONFUSION_GUARD_FIELD] !== false ? new Scope(this.repositories, virtual) : undefined)
    const isLocalName = this.request.isLocalName
    for (const key of virtual.config.repositories ?? []) {
      if (this.seen.has(key)) continue
      const member = await this.repositories.get(key)
      // Members share the virtual's package type (the repositories API checks it); anything else is no member.
      if (!member || member.packageType !== this.asked.packageType) continue
      const isRemote = member.rclass === 'remote'
      if (isRemote && scope && isLocalName && (await scope.holderOf(isLocalName))) {
        this.guarded ??= scope
        continue
      }
      this.seen.add(key)
      if (this.caller.canRead && !(await this.caller.canRead(key))) continue
      if (member.rclass === 'virtual') yield* this.descend(member, chain, scope)
      else yield { repository: member, via: chain, ...(isRemote && scope ? { guard: scope } : {}) }
    }
  }

  /** NOT_FOUND naming why members were passed over; the guard only when the caller may read the local that holds the name. */
  async missing(what: string): Promise<TroveError> {
    const reasons: string[] = []
    if (this.excludedBy.length > 0) {
      reasons.push(`it is excluded by the include/exclude patterns of ${this.excludedBy.map((k) => `'${k}'`).join(', ')}`)
    }
    const holder = await this.guarded?.holder
    // Naming a local the caller may not read would tell them a private name exists.
    if (holder && (!this.caller.canRead || (await this.caller.canRead(holder.key)))) {
      reasons.push(`local member '${holder.key}' has that name, so remote members are not asked for it (dependencyConfusionGuard)`)
    }
    return notFound(`${what} is in no member of virtual repository '${this.asked.key}'${reasons.length > 0 ? `: ${reasons.join('; ')}` : ''}`)
  }
}

/** A guarded virtual: its local repositories at any depth, and which of them holds the name asked for (computed once). */
class Scope implements GuardScope {
  private found: Promise<Repository[]> | undefined
  holder: Promise<Repository | undefined> | undefined

  constructor(
    private readonly repositories: Pick<RepositoryService, 'get'>,
    readonly virtual: Repository,
  ) {}

  locals(): Promise<readonly Repository[]> {
    this.found ??= this.collect()
    return this.found
  }

  /** The first local (in member order) holding the name; one scope serves one request, so the answer is kept. */
  holderOf(isLocalName: (local: Repository) => Promise<boolean>): Promise<Repository | undefined> {
    this.holder ??= (async () => {
      for (const local of await this.locals()) if (await isLocalName(local)) return local
      return undefined
    })()
    return this.holder
  }

  /** Readability does not matter here, nor the `seen` set of the resolution: every local below counts. */
  private async collect(): Promise<Repository[]> {
    const seen = new Set<string>()
    const locals: Repository[] = []
    const visit = async (virtual: Repository): Promise<void> => {
      seen.add(virtual.key)
      for (const key of virtual.config.repositories ?? []) {
        if (seen.has(key)) continue
        seen.add(key)
        const member = await this.repositories.get(key)
        if (!member || member.packageType !== this.virtual.packageType) continue
        if (member.rclass === 'virtual') await visit(member)
        else if (member.rclass !== 'remote') locals.push(member)
      }
    }
    await visit(this.virtual)
    return locals
  }
}
