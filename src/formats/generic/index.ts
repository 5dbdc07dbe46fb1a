import type { Format } from '../format.js'
import { genericSetMeUp } from './set-me-up.js'

/**
 * Generic repositories: any file at any path. Their whole protocol is the core's plain layout
 * (`/artifactory/{repo}/{path}` and the storage API, with remote and virtual resolution by the
 * core's plain resolver), with no rules of their own there and nothing of their own to register.
 */
export const genericFormat: Format = {
  id: 'generic',
  kinds: ['local', 'remote', 'virtual'],
  title: 'Generic',
  setMeUp: genericSetMeUp,
  console: { packageNoun: 'file' },
  register: async () => {},
  plainLayout: () => ({}),
}
