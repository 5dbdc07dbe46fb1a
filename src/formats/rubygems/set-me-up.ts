import type { SetupContext, Snippet } from '../../api/formats.js'
import { curlCredentials, escapedSecret, setupTarget } from '../set-me-up.js'

/** Set Me Up for a RubyGems repository: gem's sources, a Gemfile and bundler's credentials; gem push with the API key. */
export function gemsSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const url = `${target.baseUrl}/artifactory/api/gems/${target.key}/`
  const withCredentials = url.replace('://', `://${encodeURIComponent(target.user)}:${escapedSecret(target, encodeURIComponent)}@`)
  const what = target.rclass === 'remote' ? 'this cache of the upstream gem server' : 'this repository'
  const snippets: Snippet[] = [
    {
      id: 'gemrc',
      title: '.gemrc',
      description: `In your home folder: gem install and gem search use only ${what}.`,
      file: '.gemrc',
      text: ['---', ':sources:', `- ${withCredentials}`].join('\n'),
    },
    {
      id: 'gemfile',
      title: 'Gemfile',
      description: `The source of a project's gems: bundle install resolves and downloads them from ${what}.`,
      file: 'Gemfile',
      text: [`source "${url}"`, '', 'gem "my_gem"'].join('\n'),
    },
    {
      id: 'bundle-config',
      title: "bundler's credentials",
      description: 'Once per machine (or set BUNDLE_<HOST>__<PATH> in CI); bundler sends them to this source only.',
      text: `bundle config set --global ${url} ${target.user}:${target.secret}`,
    },
  ]
  if (target.canPush) {
    snippets.push({
      id: 'gem-push',
      title: 'Push a gem',
      description:
        "The API key is your user and token as Basic credentials, kept in ~/.gem/credentials (readable by you only)." +
        (target.rclass === 'virtual' ? " Pushes land in the virtual repository's deployment repository." : ''),
      text: [
        'mkdir -p ~/.gem',
        `curl -fsS ${curlCredentials(target)} ${url}api/v1/api_key.yaml > ~/.gem/credentials`,
        'chmod 600 ~/.gem/credentials',
        `gem push my_gem-0.1.0.gem --host ${url.replace(/\/$/, '')}`,
      ].join('\n'),
    })
  }
  return snippets
}
