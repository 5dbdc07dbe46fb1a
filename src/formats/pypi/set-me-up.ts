import type { SetupContext, Snippet } from '../../api/formats.js'
import { escapedSecret, setupTarget } from '../set-me-up.js'

/** Set Me Up for a PyPI repository: pip.conf and a one-off pip install; .pypirc and twine to upload. */
export function pypiSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  // The credentials are percent-encoded inside the URL.
  const credentials = `${encodeURIComponent(target.user)}:${escapedSecret(target, encodeURIComponent)}`
  // PEP 503 index root, with its trailing slash as Trove serves it (docs/formats/pypi.md).
  const simple = `${target.baseUrl.replace('://', `://${credentials}@`)}/artifactory/api/pypi/${target.key}/simple/`
  const snippets: Snippet[] = [
    {
      id: 'pip-conf',
      title: 'pip.conf',
      description: `In ~/.config/pip/pip.conf (or a virtualenv's pip.conf): every package comes through this ${target.rclass === 'remote' ? 'cache of the upstream index' : 'repository'}.`,
      file: 'pip.conf',
      text: ['[global]', `index-url = ${simple}`, ...(target.isPlainHttp ? [`trusted-host = ${target.hostname}`] : [])].join('\n'),
    },
    {
      id: 'pip-install',
      title: 'Install once',
      description: 'Without a pip.conf.',
      text: `pip install --index-url ${simple}${target.isPlainHttp ? ` --trusted-host ${target.hostname}` : ''} my-package`,
    },
  ]
  if (target.canPush) {
    snippets.push(
      {
        id: 'pypirc',
        title: '.pypirc',
        description:
          target.rclass === 'virtual' ? "In your home folder, for twine: uploads land in the virtual repository's deployment repository." : 'In your home folder, for twine.',
        file: '.pypirc',
        text: [
          '[distutils]',
          'index-servers = trove',
          '',
          '[trove]',
          // twine's upload URL is the repository itself, not its simple/ index.
          `repository = ${target.baseUrl}/artifactory/api/pypi/${target.key}`,
          `username = ${target.user}`,
          `password = ${target.secret}`,
        ].join('\n'),
      },
      {
        id: 'twine-upload',
        title: 'Upload with twine',
        description: 'The wheels and sdists that python -m build wrote, with the .pypirc above in place.',
        text: 'twine upload -r trove dist/*',
      },
    )
  }
  return snippets
}
