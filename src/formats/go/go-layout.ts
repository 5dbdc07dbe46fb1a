import type { PlainDeploy, PlainDeployOutcome, PlainLayout, Repository } from '../../core/index.js'
import type { GoStore } from './go-store.js'
import { badUpload, parseProxyPath } from './module-path.js'
import type { GoPublisher } from './publish.js'

/**
 * Go's rules on the plain layout (`/artifactory/<repo>/<module>/@v/<version>.<ext>`): a deploy
 * there is a publish (the same checks as `PUT` under `/artifactory/api/go/`), and a module path
 * names a package for the dependency-confusion guard of virtual repositories.
 */
export class GoLayout implements PlainLayout {
  constructor(
    private readonly publisher: GoPublisher,
    private readonly store: GoStore,
  ) {}

  isMetadata(path: string): boolean {
    return path.endsWith('/@v/list') || path.endsWith('/@latest')
  }

  async deploy({ repository, path, body, options }: PlainDeploy): Promise<PlainDeployOutcome> {
    let proxy
    try {
      proxy = parseProxyPath(path)
    } catch {
      proxy = undefined
    }
    if (!proxy || proxy.kind !== 'file') {
      body.resume()
      throw badUpload(`a Go repository holds module versions' files, <module>/@v/<version>.zip, .mod and .info; '${path}' is none`)
    }
    const { asset } = await this.publisher.publish(repository, {
      ...proxy,
      body,
      user: options.user,
      expected: options.expected,
      declaredSize: options.declaredSize,
      properties: options.properties,
    })
    return { kind: 'stored', asset }
  }

  async isLocalName(local: Repository, path: string): Promise<boolean> {
    const at = path.indexOf('/@')
    return at > 0 && this.store.hasModule(local.key, path.slice(0, at))
  }
}
