import type { SetupContext, Snippet } from '../../api/formats.js'
import { curlCredentials, setupTarget } from '../set-me-up.js'

/**
 * Set Me Up for a Go repository: GOPROXY (and GONOSUMDB for the private modules, which the public
 * checksum database cannot know), credentials in ~/.netrc, and for repositories that take
 * uploads, a publish of a module version with curl (its `.mod`, a zip made by `git archive` with
 * the `<module>@<version>/` prefix the go command expects, and its `.info`).
 */
export function goSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const proxy = `${target.baseUrl}/artifactory/api/go/${target.key}`
  const snippets: Snippet[] = [
    {
      id: 'netrc',
      title: '.netrc',
      description: 'In your home folder (chmod 600): the go command sends these credentials to Trove.',
      file: '.netrc',
      text: `machine ${target.hostname} login ${target.user} password ${target.secret}`,
    },
    {
      id: 'go-env',
      title: 'Go environment',
      description:
        'Every module through Trove. GONOSUMDB names your private modules (replace the pattern): the public checksum database cannot vouch for them. GOPRIVATE would also send them around the proxy, so it is not used.',
      text: [`go env -w GOPROXY=${proxy}`, 'go env -w GONOSUMDB=example.com/mycompany/*'].join('\n'),
    },
    {
      id: 'go-get',
      title: 'Get a module once',
      description: 'Without changing go env: in a module folder.',
      text: `GOPROXY=${proxy} GONOSUMDB=example.com/mycompany/* go get example.com/mycompany/mymodule@latest`,
    },
  ]
  if (target.canPush) {
    snippets.push({
      id: 'go-publish',
      title: 'Publish a module version',
      description:
        target.rclass === 'virtual'
          ? "In the module's git folder, at the commit to publish: it lands in the virtual repository's deployment repository."
          : "In the module's git folder, at the commit to publish (jf go-publish does the same).",
      text: [
        'VERSION=v1.0.0',
        'MODULE=$(go list -m)',
        'git archive --format=zip --prefix="$MODULE@$VERSION/" -o "/tmp/$VERSION.zip" HEAD',
        `curl -f ${curlCredentials(target)} -T go.mod "${proxy}/$MODULE/@v/$VERSION.mod"`,
        `curl -f ${curlCredentials(target)} -T "/tmp/$VERSION.zip" "${proxy}/$MODULE/@v/$VERSION.zip"`,
        `printf '{"Version":"%s","Time":"%s"}' "$VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" | curl -f ${curlCredentials(target)} -T - "${proxy}/$MODULE/@v/$VERSION.info"`,
      ].join('\n'),
    })
  }
  return snippets
}
