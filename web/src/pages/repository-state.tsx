import type { RepositoryConfigBody } from '../api.js'
import { Link, routePath } from '../router.js'

/**
 * What kind of content a repository shows, in words: a remote fills as things are pulled through
 * it (what it shows is its cache), a virtual shows its members' contents merged, in order.
 */
export function RepositoryState({ repository }: { repository: RepositoryConfigBody | undefined }) {
  if (!repository) return null
  if (repository.rclass === 'remote') {
    return (
      <p className="state-note" data-testid="repository-state">
        A remote repository: it fills as clients pull through it from <code className="wrap">{repository.url ?? 'its upstream'}</code>, so it lists what was cached, and
        when. {repository.offline ? 'It is offline: only what is cached can be pulled.' : 'Anything the upstream has can be pulled, cached or not.'}
      </p>
    )
  }
  if (repository.rclass === 'virtual') {
    const members = repository.repositories ?? []
    return (
      <p className="state-note" data-testid="repository-state">
        A virtual repository: it shows the merged contents of its members you may read, the first member winning where two hold the same path
        {members.length > 0 ? ': ' : '. It has no members yet.'}
        {members.map((key, i) => (
          <span key={key}>
            {i > 0 ? ', ' : ''}
            <Link to={routePath('packages', key)}>{key}</Link>
          </span>
        ))}
        {members.length > 0 ? '.' : ''}
        {repository.defaultDeploymentRepo ? ` Pushes go to ${repository.defaultDeploymentRepo}.` : ''}
      </p>
    )
  }
  return null
}
