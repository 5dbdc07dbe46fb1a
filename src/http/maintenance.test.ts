import { describe, expect, it } from 'vitest'
import type { MaintenanceWindow } from '../core/operations/maintenance.js'
import { headerValue, noticeText } from './maintenance.js'

const window = (over: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({
  id: 'w1',
  kind: 'read-only',
  message: 'Mise à jour — 2 h',
  startsAt: Date.parse('2030-01-01T10:00:00Z'),
  endsAt: Date.parse('2030-01-01T12:00:00Z'),
  forcedReason: null,
  createdBy: 'admin',
  announcedAt: 0,
  cancelledAt: null,
  ...over,
})

describe('the maintenance headers', () => {
  it('name the window and its state', () => {
    expect(headerValue(window())).toBe('id="w1"; kind="read-only"; state="scheduled"; start="2030-01-01T10:00:00.000Z"; end="2030-01-01T12:00:00.000Z"')
  })

  it('keep the notice to one line of printable ASCII, whatever the message holds', () => {
    const text = noticeText(window({ kind: 'outage', message: 'Mise à jour — 2 h\r\nSet-Cookie: x=1' }))
    expect(text).toBe('Trove maintenance (outage) scheduled, 2030-01-01T10:00:00.000Z to 2030-01-01T12:00:00.000Z: Mise ? jour ? 2 h??Set-Cookie: x=1')
    expect(text).toMatch(/^[\x20-\x7e]+$/)
    expect(noticeText(window({ message: 'x'.repeat(5000) })).length).toBe(1000)
  })
})
