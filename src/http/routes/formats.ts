import type { FastifyInstance } from 'fastify'
import type { UiFormat, UiFormatList, UiSetMeUp } from '../../api/formats.js'
import type { CoreServices } from '../../core/services.js'
import type { Format } from '../../formats/format.js'
import { baseUrlOf } from '../urls.js'

/**
 * What the console knows of the formats, from the formats themselves (it holds no list of package
 * types): their titles, classes, settings and console descriptors, and a repository's Set Me Up
 * snippets rendered by its format.
 */
export async function formatRoutes(app: FastifyInstance, services: CoreServices, formats: readonly Format[]): Promise<void> {
  const list: UiFormatList = { formats: formats.map(uiFormat) }
  app.get('/api/v1/ui/formats', { config: { access: 'public' } }, async () => list)

  // For the caller, at the address they reached Trove by (or the configured one), with the token
  // placeholder: the console fills in a token it creates, which never passes through here.
  app.get<{ Params: { key: string } }>(
    '/api/v1/ui/repositories/:key/set-me-up',
    { config: { access: async (request, guard) => guard.require(request.principal, 'read', (request.params as { key: string }).key) } },
    async (request) => {
      const repository = await services.repositories.require(request.params.key)
      const format = formats.find((f) => f.id === repository.packageType)
      const principal = request.principal
      const user = principal.kind === 'user' ? principal.name : 'anonymous'
      const baseUrl = baseUrlOf(request, services.config.baseUrl)
      const snippets = format?.setMeUp?.({ key: repository.key, rclass: repository.rclass, baseUrl, user }) ?? []
      return { baseUrl, user, snippets } satisfies UiSetMeUp
    },
  )
}

function uiFormat(format: Format): UiFormat {
  return {
    id: format.id,
    title: format.title,
    kinds: format.kinds,
    // The form needs everything about a setting but its validator, which stays on the server.
    settings: (format.settings ?? []).map(({ schema: _schema, ...setting }) => setting),
    ...(format.console ? { console: format.console } : {}),
    ...(format.packages ? { hasPackageViews: true as const } : {}),
  }
}
