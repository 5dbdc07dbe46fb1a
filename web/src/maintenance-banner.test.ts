import { describe, expect, it } from 'vitest'
import { countdown } from './maintenance-banner.js'

describe('the maintenance countdown', () => {
  it('says days and hours, hours and minutes, or minutes and seconds', () => {
    expect(countdown((26 * 3600 + 59 * 60) * 1000)).toBe('1 d 2 h')
    expect(countdown((3 * 3600 + 5 * 60 + 59) * 1000)).toBe('3 h 5 min')
    expect(countdown((4 * 60 + 10) * 1000 + 999)).toBe('4 min 10 s')
    expect(countdown(-5000)).toBe('0 min 0 s')
  })
})
