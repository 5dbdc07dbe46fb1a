import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { configSection } from '../config/sections.js'
import { createCoreFixture } from '../../test/helpers/core.js'
import { formatContext } from './format-context.js'
import type { CoreServices } from './services.js'

const section = configSection({ key: 'things', schema: z.object({ limit: z.number().default(5) }).strict() })

describe('formatContext', () => {
  it('hands a format the core’s services without the database handle and the storage driver, its tables and its settings', async () => {
    const core = await createCoreFixture('sqlite')
    try {
      const services = { ...core, metadata: core.metadata, storage: { name: 'driver' }, config: { sections: { things: { limit: 9 } } } } as unknown as CoreServices
      const context = formatContext(services)
      expect('metadata' in context).toBe(false)
      expect('storage' in context).toBe(false)
      expect(context.artifacts).toBe(core.artifacts)
      // The handle is the core's connection, typed to the format's tables: it reaches the tables it names.
      const rows = await context.tables<{ repositories: { key: string } }>().db.selectFrom('repositories').select('key').execute()
      expect(rows).toEqual([])
      expect(context.section(section)).toEqual({ limit: 9 })
      expect(formatContext({ ...services, config: { sections: {} } } as unknown as CoreServices).section(section)).toEqual({ limit: 5 })
    } finally {
      await core.cleanup()
    }
  })
})
