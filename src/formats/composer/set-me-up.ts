import type { SetupContext, Snippet } from '../../api/formats.js'
import { curlCredentials, setupTarget } from '../set-me-up.js'

/**
 * Set Me Up for a Composer repository: a project's composer.json whose only repository is this one
 * (Composer's default public repository disabled with `{"packagist": false}`), the credentials in
 * auth.json (`http-basic`, keyed by host and port as Composer looks them up), `composer require`;
 * and for repositories that take deploys, `composer archive` and a curl upload with the version
 * as the `composer.version` property.
 */
export function composerSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const url = `${target.baseUrl}/artifactory/api/composer/${target.key}`
  const project = {
    repositories: [{ type: 'composer', url }, { packagist: false }],
    // Plain http only: Composer refuses it otherwise.
    ...(target.isPlainHttp ? { config: { 'secure-http': false } } : {}),
  }
  const snippets: Snippet[] = [
    {
      id: 'composer-json',
      title: 'composer.json',
      description:
        (target.rclass === 'remote' ? 'Packages of the upstream repository, cached by Trove as they are downloaded. ' : '') +
        "In your project's composer.json (merged with what is there): this repository is the only one Composer reads." +
        (target.isPlainHttp ? ' secure-http is off because this Trove is served over plain http.' : ''),
      file: 'composer.json',
      text: JSON.stringify(project, null, 4),
    },
    {
      id: 'composer-auth',
      title: 'auth.json',
      description: 'Beside composer.json (keep it out of version control), or in your Composer home folder.',
      file: 'auth.json',
      text: JSON.stringify({ 'http-basic': { [target.host]: { username: target.user, password: target.secret } } }, null, 4),
    },
    {
      id: 'composer-require',
      title: 'Add a package',
      description: 'Resolved and downloaded through Trove; composer install does the same from composer.lock.',
      text: 'composer require my-vendor/my-package:^1.0',
    },
  ]
  if (target.canPush) {
    snippets.push({
      id: 'composer-upload',
      title: 'Deploy a package',
      description:
        'From the package folder (its composer.json names it my-vendor/my-package): the zip, uploaded with its version as the composer.version property ' +
        '(or the "version" of its composer.json). A released version is never overwritten.' +
        (target.rclass === 'virtual' ? " It lands in the virtual repository's deployment repository." : ''),
      text: [
        'composer archive --format=zip --dir=. --file=my-package-1.0.0',
        `curl ${curlCredentials(target)} -T my-package-1.0.0.zip "${url}/my-vendor/my-package/my-package-1.0.0.zip;composer.version=1.0.0"`,
      ].join('\n'),
    })
  }
  return snippets
}
