import type { SetupContext, Snippet } from '../../api/formats.js'
import { curlUpload, setupTarget } from '../set-me-up.js'

/** Set Me Up for a Helm chart repository: `helm repo add`, and uploads with curl. */
export function helmSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const url = `${target.baseUrl}/artifactory/api/helm/${target.key}`
  const snippets: Snippet[] = [
    {
      id: 'helm-repo-add',
      title: 'Add the chart repository',
      description:
        target.rclass === 'remote'
          ? 'Charts of the upstream repository, cached on first download; install them by <repository>/<chart>.'
          : 'Then install charts from it by <repository>/<chart>.',
      text: [
        `helm repo add ${target.key} ${url} --username ${target.user} --password '${target.secret}'`,
        'helm repo update',
        `helm install my-release ${target.key}/my-chart --version 0.1.0`,
      ].join('\n'),
    },
  ]
  if (target.canPush) {
    snippets.push({
      id: 'helm-upload',
      title: 'Upload a chart',
      description:
        'The package that helm package wrote, named <chart>-<version>.tgz; it is in the index at the next helm repo update.' +
        (target.rclass === 'virtual' ? " It lands in the virtual repository's deployment repository." : ''),
      text: ['helm package ./my-chart', curlUpload(target, 'my-chart-0.1.0.tgz', `${url}/my-chart-0.1.0.tgz`)].join('\n'),
    })
  }
  return snippets
}
