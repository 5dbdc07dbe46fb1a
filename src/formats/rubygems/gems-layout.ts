import { type FormatContext, nameOf, type PlainDeploy, type PlainDeployOutcome, type PlainLayout, TroveError } from '../../core/index.js'
import { GEMS_FOLDER } from './gem-store.js'
import { gemPublisher } from './push.js'

/**
 * A gems repository on the core's plain layout (`/artifactory/<repo>/<path>`): it is browsed and
 * read there like any repository, and a `.gem` may be deployed to `gems/<name>-<version>.gem` as
 * in Artifactory, with the checks of `gem push` and the file name matching the gemspec. Anything
 * else is refused: the indexes and quick specs are Trove's to write.
 */
export class GemsLayout implements PlainLayout {
  private readonly publisher

  constructor(services: FormatContext) {
    this.publisher = gemPublisher(services)
  }

  async deploy({ repository, path, body, options }: PlainDeploy): Promise<PlainDeployOutcome> {
    const file = nameOf(path)
    if (path !== `${GEMS_FOLDER}/${file}` || !file.endsWith('.gem')) {
      body.resume() // the client is told why; the body it still sends is discarded
      throw new TroveError('BAD_REQUEST', `A gems repository holds gems: deploy them with gem push or to ${GEMS_FOLDER}/<name>-<version>[-<platform>].gem ('${path}' is not such a path).`)
    }
    await this.publisher.push(repository, body, { ...options, fileName: file })
    const asset = await this.publisher.stored(repository, path)
    return { kind: 'stored', asset }
  }
}
