import type { SetupContext, Snippet } from '../../api/formats.js'
import { setupTarget } from '../set-me-up.js'

/** Set Me Up for an npm registry: `.npmrc` (all packages or one scope), install, publish, login. */
export function npmSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const registry = `${target.baseUrl}/artifactory/api/npm/${target.key}/`
  // npm keys a registry's credentials by its URL without the scheme (the "nerf dart").
  const credential = `${registry.replace(/^https?:/, '')}:_authToken=${target.secret}`
  const snippets: Snippet[] = [
    {
      id: 'npmrc',
      title: '.npmrc',
      description: 'In your home folder or the project: every package comes through this repository.',
      file: '.npmrc',
      text: [`registry=${registry}`, credential].join('\n'),
    },
    {
      id: 'npmrc-scoped',
      title: '.npmrc for one scope only',
      description: 'Only @my-scope packages come from Trove; the rest from your default registry.',
      file: '.npmrc',
      text: [`@my-scope:registry=${registry}`, credential].join('\n'),
    },
    { id: 'npm-install', title: 'Install', description: 'With the .npmrc above in place.', text: 'npm install my-package' },
  ]
  if (target.canPush) {
    snippets.push({
      id: 'npm-publish',
      title: 'Publish',
      description: 'From the package folder, with the .npmrc above in place.',
      text: `npm publish --registry ${registry}`,
    })
  }
  snippets.push({
    id: 'npm-login',
    title: 'Or log in with your password',
    description: 'npm stores a fresh Trove token in ~/.npmrc.',
    text: `npm login --registry ${registry} --auth-type=legacy`,
  })
  return snippets
}
