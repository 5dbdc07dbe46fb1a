import type { SetupContext, Snippet } from '../../api/formats.js'
import { curlCredentials, curlUpload, setupTarget } from '../set-me-up.js'

/** Set Me Up for a generic repository: curl, any path. */
export function genericSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const url = `${target.baseUrl}/artifactory/${target.key}`
  const snippets: Snippet[] = []
  if (target.canPush) {
    snippets.push({
      id: 'curl-deploy',
      title: 'Deploy a file with curl',
      description: 'Uploads build.tar.gz; Trove verifies the checksum header when you give one.',
      text: curlUpload(target, 'build.tar.gz', `${url}/releases/1.0/build.tar.gz`, { checksum: true }),
    })
  }
  snippets.push({
    id: 'curl-download',
    title: 'Download a file with curl',
    description: 'Any path in the repository; add -r 0-1023 for a range.',
    text: `curl ${curlCredentials(target)} -O "${url}/releases/1.0/build.tar.gz"`,
  })
  return snippets
}
