import { describe, expect, it } from 'vitest'
import { EVERYWHERE, NOWHERE, allOf, anyOf, patternAccess } from './path-access.js'

describe('path access from include and exclude patterns', () => {
  it("lets the default patterns read everything, the repository's root included (issue #13, item 7)", () => {
    for (const includes of [[], ['**'], ['**/*']]) {
      const access = patternAccess(includes, [])
      expect(access.isEverywhere).toBe(true)
      expect(access.folder('')).toBe(true)
      expect(access.file('any/path.txt')).toBe(true)
    }
  })

  it('allows files that match an include and no exclude', () => {
    const access = patternAccess(['org/**/*.jar', 'public/**'], ['**/secret/**'])
    expect(['org/a.jar', 'org/x/y/a.jar', 'public/readme', 'public/.hidden'].filter((p) => !access.file(p))).toEqual([])
    expect(['org/a.txt', 'com/a.jar', 'org/secret/a.jar', 'org/x/secret/y/a.jar', 'publicity'].filter((p) => access.file(p))).toEqual([])
  })

  it('lets the folders leading to an allowed path be browsed: the root, and those an include may match below', () => {
    const access = patternAccess(['org/**/*.jar', 'public/**', 'a/*/c/**'], ['**/secret/**'])
    expect(['', 'org', 'org/acme', 'org/acme/lib', 'public', 'public/deep/er', 'a', 'a/b', 'a/b/c', 'a/b/c/d'].filter((f) => !access.folder(f))).toEqual([])
    expect(['com', 'pub', 'publicity', 'a/b/d', 'org/secret', 'org/acme/secret'].filter((f) => access.folder(f))).toEqual([])
  })

  it('answers folders for patterns it cannot take apart only by matching them whole', () => {
    const braces = patternAccess(['{a/b,c}/**'], [])
    expect([braces.folder('c'), braces.folder('c/d'), braces.folder('a/b'), braces.folder('x')]).toEqual([true, true, true, false])
    // Negated: everything but `x/**`, which the file rule decides; folders are looked at whole.
    const negated = patternAccess(['!x/**'], [])
    expect([negated.file('y/z'), negated.file('x/z')]).toEqual([true, false])
  })

  it('stays linear on many globstars', () => {
    const access = patternAccess([`${'**/'.repeat(30)}never`], [])
    const deep = Array.from({ length: 40 }, (_, i) => `d${i}`).join('/')
    const started = performance.now()
    expect(access.folder(deep)).toBe(true)
    expect(access.file(`${deep}/x`)).toBe(false)
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('combines: any of several rules, all of several limits', () => {
    const pub = patternAccess(['public/**'], [])
    const docs = patternAccess(['docs/**'], [])
    const either = anyOf([pub, docs, NOWHERE])
    expect([either.file('public/a'), either.file('docs/a'), either.file('src/a'), either.folder('docs')]).toEqual([true, true, false, true])
    expect(anyOf([])).toBe(NOWHERE)
    expect(anyOf([pub, EVERYWHERE])).toBe(EVERYWHERE)
    const both = allOf([pub, patternAccess(['**/*.txt'], [])])
    expect([both.file('public/a.txt'), both.file('public/a.bin'), both.file('docs/a.txt'), both.folder('public/sub')]).toEqual([true, false, false, true])
    expect(allOf([pub, NOWHERE]).isNowhere).toBe(true)
    expect(allOf([EVERYWHERE, pub])).toBe(pub)
  })
})
