import { describe, expect, it } from 'vitest'
import { isMetadataFull } from './metadata-errors.js'

describe('isMetadataFull', () => {
  it("knows SQLite's and PostgreSQL's full-disk errors by their codes, and nothing else", () => {
    // PostgreSQL's disk_full cannot be caused here without a tablespace on a full disk; pg reports
    // the SQLSTATE as `code`, as it does for every server error.
    expect(isMetadataFull(Object.assign(new Error('could not extend file'), { code: '53100' }))).toBe(true)
    expect(isMetadataFull(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toBe(true)
    for (const other of [Object.assign(new Error('x'), { code: '23505' }), Object.assign(new Error('x'), { code: 'SQLITE_BUSY' }), new Error('x'), undefined, 'SQLITE_FULL']) {
      expect(isMetadataFull(other)).toBe(false)
    }
  })
})
