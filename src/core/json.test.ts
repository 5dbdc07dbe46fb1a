import { describe, expect, it } from 'vitest'
import { TroveError } from './errors.js'
import { MAX_JSON_DEPTH, assertJsonDepth, parseJson } from './json.js'

const nested = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`

function refusal(action: () => unknown): TroveError {
  try {
    action()
  } catch (err) {
    expect(err).toBeInstanceOf(TroveError)
    return err as TroveError
  }
  throw new Error('expected a refusal')
}

describe('parseJson', () => {
  it('parses JSON nested up to the limit', () => {
    expect(parseJson(nested(MAX_JSON_DEPTH), 'the body')).toBeInstanceOf(Array)
    const objects = `${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}`
    expect(parseJson(objects, 'the body')).toHaveProperty('a')
    expect(parseJson('{"a": [1, {"b": "c"}], "d": null}', 'the body')).toEqual({ a: [1, { b: 'c' }], d: null })
  })

  it('refuses JSON nested one level past the limit, before building it (400)', () => {
    const err = refusal(() => parseJson(nested(MAX_JSON_DEPTH + 1, '{"a":', '}'), 'the body'))
    expect(err.code).toBe('BAD_REQUEST')
    expect(err.message).toBe(`the body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`)
  })

  it('refuses thousands of levels, which would overflow the stack of whatever walks the value', () => {
    const deep = `{"x": ${nested(20_000)}}`
    expect(() => JSON.stringify(JSON.parse(deep))).toThrow(RangeError)
    expect(refusal(() => parseJson(deep, 'the manifest')).message).toMatch(/^the manifest nests objects and arrays more than \d+ levels deep$/)
  })

  it('counts only brackets outside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: '['.repeat(1000), b: '\\"{'.repeat(1000), c: [['"]']] })
    expect(() => assertJsonDepth(text, 'the body', 3)).not.toThrow()
    expect(() => assertJsonDepth(text, 'the body', 2)).toThrow(/more than 2 levels/)
  })

  it('refuses text that is not JSON, saying why', () => {
    const err = refusal(() => parseJson('{"a": ', 'the package.json inside the tarball'))
    expect(err.code).toBe('BAD_REQUEST')
    expect(err.message).toMatch(/^the package\.json inside the tarball is not valid JSON: /)
  })
})
