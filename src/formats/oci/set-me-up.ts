import type { SetupContext, Snippet } from '../../api/formats.js'
import { setupTarget } from '../set-me-up.js'

/**
 * Set Me Up for a Docker (OCI) repository: docker, podman and skopeo, and Helm charts as OCI
 * artifacts. Images are `<host>/<repository>/<image>` (the repository path method).
 */
export function ociSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const { host, user, secret, isPlainHttp, canPush } = target
  const image = `${host}/${target.key}/my-image`
  // podman and skopeo refuse plain HTTP unless told; docker allows it for localhost only.
  const tls = isPlainHttp ? ' --tls-verify=false' : ''
  const snippets: Snippet[] = [
    {
      id: 'docker-login',
      title: 'Log in with docker',
      description: isPlainHttp
        ? `Plain HTTP: docker accepts it for localhost; for another host add "${host}" to "insecure-registries" in /etc/docker/daemon.json.`
        : 'The token is the password.',
      text: `echo '${secret}' | docker login ${host} -u ${user} --password-stdin`,
    },
    {
      id: 'docker-pull',
      title: 'Pull with docker',
      description: target.rclass === 'remote' ? 'Pulled through the cache: any image the upstream has, by its upstream name.' : 'Images are addressed as host/repository/image:tag.',
      text: `docker pull ${image}:1.0`,
    },
  ]
  if (canPush) {
    snippets.push({
      id: 'docker-push',
      title: 'Push with docker',
      description: 'Tag a local image with the repository path, then push it.',
      text: [`docker tag my-image:1.0 ${image}:1.0`, `docker push ${image}:1.0`].join('\n'),
    })
  }
  snippets.push(
    {
      id: 'podman',
      title: 'podman',
      description: 'Same names as docker.',
      text: [
        `echo '${secret}' | podman login${tls} ${host} -u ${user} --password-stdin`,
        `podman pull${tls} ${image}:1.0`,
        ...(canPush ? [`podman push${tls} my-image:1.0 ${image}:1.0`] : []),
      ].join('\n'),
    },
    {
      id: 'skopeo',
      title: 'skopeo',
      description: 'Inspect or copy without a daemon.',
      text: [
        `skopeo inspect${tls} --creds ${user}:${secret} docker://${image}:1.0`,
        ...(canPush ? [`skopeo copy${isPlainHttp ? ' --dest-tls-verify=false' : ''} --dest-creds ${user}:${secret} oci-archive:my-image.tar docker://${image}:1.0`] : []),
      ].join('\n'),
    },
  )
  if (canPush) {
    snippets.push({
      id: 'helm-oci',
      title: 'Helm charts as OCI artifacts',
      description: 'A docker repository also stores Helm charts.',
      text: [
        `helm registry login ${host} -u ${user} --password '${secret}'${isPlainHttp ? ' --insecure' : ''}`,
        `helm push my-chart-0.1.0.tgz oci://${host}/${target.key}${isPlainHttp ? ' --plain-http' : ''}`,
      ].join('\n'),
    })
  }
  return snippets
}
