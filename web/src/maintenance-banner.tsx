import { useEffect, useState } from 'react'
import { operationsApi, type MaintenanceWindowBody } from './operations-api.js'

const POLL_MS = 30_000

/** "2 d 3 h", "3 h 5 min", "4 min 10 s": what is left until `to`. */
export function countdown(ms: number): string {
  const secs = Math.max(0, Math.floor(ms / 1000))
  const d = Math.floor(secs / 86400)
  const h = Math.floor((secs % 86400) / 3600)
  const m = Math.floor((secs % 3600) / 60)
  const s = secs % 60
  if (d > 0) return `${d} d ${h} h`
  if (h > 0) return `${h} h ${m} min`
  return `${m} min ${s} s`
}

/**
 * The announced or running maintenance window, on every page (the login page included), with a
 * countdown to its start or its end; read from the public `GET /api/v1/system/maintenance`.
 */
export function MaintenanceBanner() {
  const [window, setWindow] = useState<MaintenanceWindowBody | null>(null)
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const load = () => operationsApi.maintenance().then((list) => setWindow(list.current), () => {})
    load()
    const poll = setInterval(load, POLL_MS)
    const tick = setInterval(() => setNow(Date.now()), 1000)
    return () => {
      clearInterval(poll)
      clearInterval(tick)
    }
  }, [])
  if (!window) return null
  const start = Date.parse(window.start)
  const end = Date.parse(window.end)
  if (now >= end) return null
  const isActive = now >= start
  const what = window.kind === 'outage' ? 'Outage' : 'Read-only maintenance'
  return (
    <div className={`banner maintenance${isActive ? ' active' : ''}`} role="status" data-testid="maintenance-banner">
      <strong>{isActive ? `${what} in progress` : `${what} scheduled`}:</strong> {window.message}{' '}
      <span className="when">
        ({new Date(start).toLocaleString()} to {new Date(end).toLocaleString()};{' '}
        <span data-testid="maintenance-countdown">{isActive ? `ends in ${countdown(end - now)}` : `starts in ${countdown(start - now)}`}</span>)
      </span>
    </div>
  )
}
