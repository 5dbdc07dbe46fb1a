import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react'

/** The console lives under /ui/; routes are the part after it ("/", "/repositories/x/a/b"). */
export const BASE = '/ui'
const CHANGE = 'trove:navigate'

function subscribe(callback: () => void): () => void {
  window.addEventListener('popstate', callback)
  window.addEventListener(CHANGE, callback)
  return () => {
    window.removeEventListener('popstate', callback)
    window.removeEventListener(CHANGE, callback)
  }
}

const snapshot = () => location.pathname + location.search

/** The current route and query, re-rendering on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const current = useSyncExternalStore(subscribe, snapshot)
  const url = new URL(current, location.origin)
  const path = url.pathname.startsWith(`${BASE}/`) ? url.pathname.slice(BASE.length) : '/'
  return { path, query: url.searchParams }
}

export function href(to: string): string {
  return `${BASE}${to.startsWith('/') ? to : `/${to}`}`
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const target = href(to)
  if (target === location.pathname + location.search) return
  if (options.replace) history.replaceState(null, '', target)
  else history.pushState(null, '', target)
  window.dispatchEvent(new Event(CHANGE))
  window.scrollTo(0, 0)
}

/** An `<a>` that navigates inside the console without reloading (and opens new tabs as usual). */
export function Link({ to, children, ...rest }: { to: string; children: ReactNode } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    rest.onClick?.(event)
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(to)
  }
  return (
    <a {...rest} href={href(to)} onClick={onClick}>
      {children}
    </a>
  )
}

/** Splits "/repositories/key/a/b" into ["repositories", "key", "a/b"] given how many leading segments to keep apart. */
export function segments(path: string, leading: number): string[] {
  const parts = path.split('/').filter((p) => p !== '')
  const head = parts.slice(0, leading).map(safeDecode)
  const rest = parts.slice(leading).map(safeDecode).join('/')
  return rest === '' ? head : [...head, rest]
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** A route path with each segment encoded. */
export function routePath(...parts: string[]): string {
  return `/${parts
    .filter((p) => p !== '')
    .flatMap((p) => p.split('/'))
    .map(encodeURIComponent)
    .join('/')}`
}
