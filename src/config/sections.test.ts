import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ConfigError, configSection, configSectionOf, loadConfig } from './config.js'

/** A section as a format declares it. */
const widgets = configSection({
  key: 'widgets',
  schema: z.object({ maxBytes: z.number().int().positive().default(100), names: z.array(z.string()).default([]), strict: z.boolean().default(false) }).strict(),
  env: {
    TROVE_WIDGETS_MAX_BYTES: { path: ['maxBytes'], type: 'number' },
    TROVE_WIDGETS_NAMES: { path: ['names'], type: 'list' },
  },
})

describe('configuration sections (a format’s settings)', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trove-sections-'))
  })
  afterEach(async () => rm(dir, { recursive: true, force: true }))

  const problemsOf = (load: () => unknown): string => {
    try {
      load()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      return (err as Error).message
    }
    throw new Error('expected a ConfigError')
  }

  it('applies defaults, then the YAML file, then the variables, then overrides', async () => {
    expect(configSectionOf(loadConfig({ env: {}, sections: [widgets] }), widgets)).toEqual({ maxBytes: 100, names: [], strict: false })
    const file = join(dir, 'trove.yaml')
    await writeFile(file, 'widgets:\n  maxBytes: 7\n  strict: true\n')
    const fromFile = loadConfig({ file, env: { TROVE_WIDGETS_NAMES: 'a, b' }, sections: [widgets] })
    expect(configSectionOf(fromFile, widgets)).toEqual({ maxBytes: 7, names: ['a', 'b'], strict: true })
    const fromEnv = loadConfig({ file, env: { TROVE_WIDGETS_MAX_BYTES: '9' }, sections: [widgets] })
    expect(configSectionOf(fromEnv, widgets).maxBytes).toBe(9)
    expect(configSectionOf(loadConfig({ env: {}, sections: [widgets], overrides: { widgets: { maxBytes: 3 } } }), widgets).maxBytes).toBe(3)
  })

  it('lists every problem of a section with the core’s, by setting path and variable name', () => {
    const message = problemsOf(() => loadConfig({ env: { TROVE_WIDGETS_MAX_BYTES: 'lots', TROVE_PORT: 'x' }, sections: [widgets], overrides: { widgets: { maxBytes: 1, colour: 'red' } } }))
    expect(message).toContain('TROVE_WIDGETS_MAX_BYTES: expected a whole number')
    expect(message).toContain('TROVE_PORT: expected a whole number')
    expect(message).toMatch(/widgets: .*colour/)
    expect(problemsOf(() => loadConfig({ env: {}, sections: [widgets], overrides: { widgets: { maxBytes: 0 } } }))).toMatch(/widgets\.maxBytes: /)
  })

  it('refuses a section it was not given, and warns of a variable no section declares', () => {
    expect(problemsOf(() => loadConfig({ env: {}, overrides: { widgets: { maxBytes: 1 } } }))).toMatch(/widgets/)
    expect(loadConfig({ env: { TROVE_WIDGETS_MAX_BYTES: '5' } }).warnings).toEqual(['TROVE_WIDGETS_MAX_BYTES is not a Trove setting and is ignored'])
    // Loaded without the section, its reader still gets the defaults.
    expect(configSectionOf(loadConfig({ env: {} }), widgets).maxBytes).toBe(100)
  })

  it('refuses a section key or a variable declared twice, or one of the core’s', () => {
    expect(() => loadConfig({ env: {}, sections: [widgets, widgets] })).toThrow("the configuration section 'widgets' is declared twice")
    expect(() => loadConfig({ env: {}, sections: [{ ...widgets, key: 'http' }] })).toThrow("the configuration section 'http' is declared twice (or is one of the core's)")
    const copy = { ...widgets, key: 'gadgets' }
    expect(() => loadConfig({ env: {}, sections: [widgets, copy] })).toThrow('the environment variable TROVE_WIDGETS_MAX_BYTES is declared twice')
  })
})
