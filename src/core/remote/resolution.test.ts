/**
 * The resolution engine's rules, on real repositories (a RepositoryService on SQLite and on
 * PostgreSQL): member order, one visit per repository (shared members, cycles), readability, the
 * virtuals' patterns, the dependency-confusion guard across nesting, and which failures fall
 * through. A member's "read" is the test's: it records which repositories were asked and answers
 * from a table, so that every rule is seen in what the engine asks, not only in what it returns.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createCoreFixture, type CoreFixture } from '../../../test/helpers/core.js'
import { metadataBackends } from '../../../test/helpers/postgres.js'
import { TroveError, notFound } from '../errors.js'
import { RepositoryService, type Repository } from '../repositories/repository-service.js'
import { ResolutionEngine, type MemberRead, type Reached, type ResolutionCaller } from './resolution.js'

const backends = await metadataBackends()

describe.each(backends)('ResolutionEngine (%s)', (backend) => {
  let core: CoreFixture
  let repositories: RepositoryService
  let engine: ResolutionEngine
  /** Repository names (keys without the test's prefix) in the order the engine asked them. */
  let asked: string[]
  /** Each test's repositories are its own: their keys start with its prefix. */
  let prefix = ''
  let serial = 0

  beforeAll(async () => {
    core = await createCoreFixture(backend)
    repositories = new RepositoryService(core.metadata.db, new Map([['generic', ['local', 'remote', 'virtual'] as const]]))
    engine = new ResolutionEngine(repositories)
  })
  afterAll(() => core?.cleanup())
  beforeEach(() => {
    prefix = `t${++serial}-`
    asked = []
  })

  const key = (name: string) => `${prefix}${name}`
  const nameOf = (repository: Repository) => repository.key.slice(prefix.length)
  const local = (name: string) => repositories.create(key(name), { rclass: 'local', packageType: 'generic' })
  const remote = (name: string) => repositories.create(key(name), { rclass: 'remote', packageType: 'generic', url: 'http://127.0.0.1:9/' })
  const virtual = (name: string, members: readonly string[], config: Record<string, unknown> = {}) =>
    repositories.create(key(name), { rclass: 'virtual', packageType: 'generic', repositories: members.map(key), ...config })
  const get = async (name: string) => (await repositories.get(key(name)))!

  /** A read answering `answers[name]` (a value, or an error to throw), `undefined` for the others; records who was asked. */
  const reader =
    (answers: Record<string, unknown> = {}): MemberRead<string> =>
    async ({ repository }) => {
      asked.push(nameOf(repository))
      const answer = answers[nameOf(repository)]
      if (answer instanceof Error) throw answer
      return answer as string | undefined
    }
  const readable = (...hidden: string[]): ResolutionCaller => ({ canRead: async (k) => !hidden.map(key).includes(k) })
  const namesOf = async (reached: AsyncIterable<Reached>) => {
    const names: string[] = []
    for await (const { repository } of reached) names.push(nameOf(repository))
    return names
  }
  /** The locals named `holders` have the name asked for. */
  const nameIn = (...holders: string[]) => async (l: Repository) => holders.includes(nameOf(l))

  describe('member order', () => {
    it('reads members in the listed order, nested virtuals where they are listed, and stops at the first answer', async () => {
      await local('l1')
      await local('l2')
      await remote('r1')
      await remote('r2')
      await virtual('inner', ['l2', 'r1'])
      await virtual('outer', ['l1', 'inner', 'r2'])
      const outer = await get('outer')

      expect(await namesOf(engine.members(outer))).toEqual(['l1', 'l2', 'r1', 'r2'])

      const found = await engine.first(outer, { path: 'a/b.txt' }, {}, reader({ r1: 'from r1', r2: 'from r2' }))
      expect(found).toMatchObject({ value: 'from r1', repository: { key: key('r1') } })
      expect(found.via.map(nameOf)).toEqual(['outer', 'inner'])
      expect(asked).toEqual(['l1', 'l2', 'r1'])
    })

    it('collects every answer in member order for a merge', async () => {
      await local('l1')
      await remote('r1')
      await local('l2')
      await virtual('v1', ['l1', 'r1', 'l2'])

      const collected = await engine.all(await get('v1'), {}, {}, reader({ l1: 'a', l2: 'c' }))
      expect(collected.found.map((f) => [nameOf(f.repository), f.value])).toEqual([
        ['l1', 'a'],
        ['l2', 'c'],
      ])
      expect(asked).toEqual(['l1', 'r1', 'l2'])
    })
  })

  describe('one visit per repository', () => {
    it('asks a member shared by nested virtuals once', async () => {
      await remote('shared')
      await local('l1')
      await virtual('va', ['shared', 'l1'])
      await virtual('vb', ['shared', 'va'])
      await virtual('top', ['va', 'vb', 'shared'])

      await engine.all(await get('top'), {}, {}, reader())
      expect(asked).toEqual(['shared', 'l1'])
    })

    it('ends a cycle of virtuals, asking each member once', async () => {
      await local('x1')
      await local('y1')
      await virtual('c1', [])
      await virtual('c2', ['c1', 'x1'])
      await repositories.update(key('c1'), { repositories: [key('c2'), key('y1')] })

      expect(await namesOf(engine.members(await get('c1')))).toEqual(['x1', 'y1'])
      await expect(engine.first(await get('c2'), { path: 'p.txt' }, {}, reader())).rejects.toMatchObject({ code: 'NOT_FOUND' })
      expect(asked).toEqual(['y1', 'x1'])
    })
  })

  describe('readability', () => {
    it('skips members the caller may not read, and everything below a nested virtual it may not read', async () => {
      await local('hidden')
      await local('below')
      await local('open')
      await virtual('closed', ['below'])
      await virtual('v1', ['hidden', 'closed', 'open'])

      const found = await engine.first(await get('v1'), { path: 'f.txt' }, readable('hidden', 'closed'), reader({ hidden: 'x', below: 'y', open: 'z' }))
      expect(found.value).toBe('z')
      expect(asked).toEqual(['open'])
    })

    it('reads a repository that is not virtual alone, without asking about readability, its errors unchanged', async () => {
      await local('alone')
      const own = notFound('the member says what is missing')
      const caller: ResolutionCaller = { canRead: () => Promise.reject(new Error('not asked for the repository itself')) }

      await expect(engine.first(await get('alone'), { path: 'f' }, caller, reader({ alone: own }))).rejects.toBe(own)
      expect((await engine.all(await get('alone'), {}, caller, reader())).found).toEqual([])
      expect((await engine.first(await get('alone'), {}, caller, reader({ alone: 'v' }))).value).toBe('v')
    })
  })

  describe('include/exclude patterns of the virtuals on the way', () => {
    it('asks no member of a virtual whose patterns refuse the path, and says so', async () => {
      await local('l1')
      await virtual('v1', ['l1'], { excludesPattern: 'secret/**' })

      const refused = engine.first(await get('v1'), { path: 'secret/key.pem' }, {}, reader({ l1: 'x' }))
      await expect(refused).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(`include/exclude patterns of '${key('v1')}'`) })
      expect(asked).toEqual([])
      expect((await engine.first(await get('v1'), { path: 'public/a.txt' }, {}, reader({ l1: 'x' }))).value).toBe('x')
    })

    it("leaves out a nested virtual whose patterns refuse the path, and asks the others", async () => {
      await local('l1')
      await local('l2')
      await virtual('narrow', ['l1'], { includesPattern: 'org/**' })
      await virtual('wide', ['narrow', 'l2'])

      expect((await engine.first(await get('wide'), { path: 'com/a.jar' }, {}, reader({ l1: 'x', l2: 'y' }))).value).toBe('y')
      expect(asked).toEqual(['l2'])
    })
  })

  describe('the dependency-confusion guard', () => {
    it('asks no remote for a name a local member has, at any depth, whatever the nested virtual says', async () => {
      await local('lname')
      await remote('r1')
      await remote('r2')
      await virtual('unguarded', ['r1'], { dependencyConfusionGuard: false })
      await virtual('top', ['unguarded', 'lname', 'r2'])

      await engine.all(await get('top'), { isLocalName: nameIn('lname') }, {}, reader())
      expect(asked).toEqual(['lname'])

      asked = []
      await engine.all(await get('top'), { isLocalName: nameIn() }, {}, reader())
      expect(asked).toEqual(['r1', 'lname', 'r2'])
    })

    it('counts a local held in a nested virtual', async () => {
      await local('deep')
      await remote('r1')
      await virtual('inner', ['deep'])
      await virtual('top', ['r1', 'inner'])

      await engine.all(await get('top'), { isLocalName: nameIn('deep') }, {}, reader())
      expect(asked).toEqual(['deep'])
    })

    it('guards only the remotes below a guarded virtual: one listed again outside it is asked there', async () => {
      await local('l1')
      await remote('r1')
      await remote('r2')
      await virtual('guarded', ['l1', 'r1'])
      await virtual('top', ['guarded', 'r1', 'r2'], { dependencyConfusionGuard: false })

      await engine.all(await get('top'), { isLocalName: nameIn('l1') }, {}, reader())
      expect(asked).toEqual(['l1', 'r1', 'r2'])
    })

    it('is off where the virtual turns it off', async () => {
      await local('l1')
      await remote('r1')
      await virtual('open', ['r1', 'l1'], { dependencyConfusionGuard: false })

      const found = await engine.first(await get('open'), { path: 'p', isLocalName: nameIn('l1') }, {}, reader({ r1: 'public', l1: 'private' }))
      expect(found.value).toBe('public')
    })

    it('counts locals the caller may not read, and names the guard only to a caller who may read the local', async () => {
      await local('secret')
      await remote('r1')
      await virtual('v1', ['secret', 'r1'])
      const request = { path: 'pkg/-/pkg-9.0.0.tgz', isLocalName: nameIn('secret') }

      // The caller may not read the local: the remote is not asked all the same, and the answer says nothing of why.
      const hidden = await engine.first(await get('v1'), request, readable('secret'), reader({ r1: 'impostor' })).catch((err: unknown) => err)
      expect(hidden).toMatchObject({ code: 'NOT_FOUND' })
      expect((hidden as Error).message).not.toMatch(/secret|dependencyConfusionGuard/)
      expect(asked).toEqual([])

      // A caller who may read it learns why the remote's file is not served.
      const told = await engine.first(await get('v1'), request, readable(), reader({ r1: 'impostor' })).catch((err: unknown) => err)
      expect((told as Error).message).toMatch(new RegExp(`local member '${key('secret')}' has that name.*dependencyConfusionGuard`))
      expect(asked).toEqual(['secret'])
    })

    it('tells a merge which locals guard a remote member, for documents of many names', async () => {
      await local('la')
      await local('lb')
      await remote('r1')
      await virtual('inner', ['lb', 'r1'], { dependencyConfusionGuard: false })
      await virtual('top', ['la', 'inner'])

      const reached: Reached[] = []
      for await (const member of engine.members(await get('top'), {}, readable('lb'))) reached.push(member)
      expect(reached.map((r) => nameOf(r.repository))).toEqual(['la', 'r1'])
      const guard = reached[1]!.guard!
      expect(nameOf(guard.virtual)).toBe('top')
      expect((await guard.locals()).map(nameOf)).toEqual(['la', 'lb'])
      expect(reached[0]!.guard).toBeUndefined()
    })
  })

  describe('failures', () => {
    it('passes over NOT_FOUND and upstream failures; the first upstream failure is the answer when no member has it', async () => {
      await local('l1')
      await remote('r1')
      await remote('r2')
      await local('l2')
      await virtual('v1', ['l1', 'r1', 'r2', 'l2'])
      const answers = {
        l1: notFound('not in l1'),
        r1: new TroveError('UPSTREAM_UNAVAILABLE', 'r1 is down'),
        r2: new TroveError('UPSTREAM_TIMEOUT', 'r2 stalls'),
      }

      await expect(engine.first(await get('v1'), { path: 'x' }, {}, reader(answers))).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: 'r1 is down' })
      expect(asked).toEqual(['l1', 'r1', 'r2', 'l2'])
      expect((await engine.first(await get('v1'), { path: 'x' }, {}, reader({ ...answers, l2: 'found' }))).value).toBe('found')
    })

    it('answers a refusal, bad input or a bug at once: the members after it are not asked', async () => {
      await local('l1')
      await local('l2')
      await virtual('v1', ['l1', 'l2'])

      for (const failure of [new TroveError('DENIED', 'blocked by policy'), new TroveError('BAD_REQUEST', 'malformed'), new Error('a bug')]) {
        asked = []
        await expect(engine.first(await get('v1'), { path: 'x' }, {}, reader({ l1: failure, l2: 'later' }))).rejects.toBe(failure)
        await expect(engine.all(await get('v1'), {}, {}, reader({ l1: failure, l2: 'later' }))).rejects.toBe(failure)
        expect(asked).toEqual(['l1', 'l1'])
      }
    })

    it('merges what the other members answered when one fails upstream, and reports the failure only when none answered', async () => {
      await local('l1')
      await remote('r1')
      await virtual('v1', ['r1', 'l1'])
      const down = new TroveError('UPSTREAM_UNAVAILABLE', 'r1 is down')

      const merged = await engine.all(await get('v1'), {}, {}, reader({ r1: down, l1: 'local part' }))
      expect(merged.found.map((f) => f.value)).toEqual(['local part'])
      await expect(engine.all(await get('v1'), {}, {}, reader({ r1: down }))).rejects.toBe(down)

      const nothing = await engine.all(await get('v1'), { what: 'package nothing' }, {}, reader())
      expect(nothing.found).toEqual([])
      expect(await nothing.missing()).toMatchObject({ code: 'NOT_FOUND', message: `package nothing is in no member of virtual repository '${key('v1')}'` })
    })
  })
})
