import { describe, expect, it } from 'vitest'
import { HybridClock, parseStamp, stampTime } from './clock.js'

describe('HybridClock', () => {
  it('orders stamps by time, then counter, then instance, as strings', () => {
    let now = 1000
    const clock = new HybridClock('aaa', () => now)
    const first = clock.tick()
    const second = clock.tick()
    expect(second > first).toBe(true)
    expect(parseStamp(second)).toEqual({ physical: 1000, counter: 1, instance: 'aaa' })
    now = 999 // the wall clock went back: stamps do not
    expect(clock.tick() > second).toBe(true)
    now = 2000
    expect(parseStamp(clock.tick())).toEqual({ physical: 2000, counter: 0, instance: 'aaa' })
    expect(stampTime(clock.tick())).toBe(2000)
  })

  it('ticks past every stamp it observed, even from a clock ahead of its own', () => {
    const behind = new HybridClock('bbb', () => 5000)
    const ahead = new HybridClock('aaa', () => 9000)
    const theirs = ahead.tick()
    behind.observe(theirs)
    const mine = behind.tick()
    expect(mine > theirs).toBe(true)
    expect(parseStamp(mine)).toEqual({ physical: 9000, counter: 1, instance: 'bbb' })
  })

  it('breaks a tie of time and counter by instance id, the same way everywhere', () => {
    const a = new HybridClock('aaa', () => 7000).tick()
    const b = new HybridClock('bbb', () => 7000).tick()
    expect([b, a].sort()).toEqual([a, b])
  })

  it('ignores malformed stamps and refuses bad instance ids', () => {
    const clock = new HybridClock('ccc', () => 10)
    clock.observe('not a stamp')
    expect(parseStamp(clock.tick())?.physical).toBe(10)
    expect(() => new HybridClock('Bad Id')).toThrow()
  })
})
