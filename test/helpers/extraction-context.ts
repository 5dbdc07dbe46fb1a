import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import type { ExtractionContext } from '../../src/core/scanning/extractor.js'

/**
 * For extractor tests: before each test, a fresh scratch folder (removed after it) and an
 * extraction context with it, over a repository that holds no other blob.
 */
export function scratchExtraction(): { readonly dir: string; readonly context: ExtractionContext } {
  const state = { dir: '', context: undefined as unknown as ExtractionContext }
  beforeEach(async () => {
    state.dir = await mkdtemp(join(tmpdir(), 'trove-scan-test-'))
    state.context = { scratchDir: state.dir, linked: { open: () => Promise.reject(new Error('no blobs')), holds: async () => false }, installed: [], skip: () => undefined }
  })
  afterEach(async () => {
    await rm(state.dir, { recursive: true, force: true })
  })
  return state
}
