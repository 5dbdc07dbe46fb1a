import { describe, expect, it } from 'vitest'
import { ociSetMeUp } from './set-me-up.js'

const base = { key: 'team-local', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' }
const byId = (context: typeof base) => Object.fromEntries(ociSetMeUp(context).map((s) => [s.id, s]))

describe('Docker Set Me Up', () => {
  it('switches TLS verification off on plain HTTP only, on every podman, skopeo and helm line', () => {
    const plain = byId(base)
    for (const line of [...plain.podman!.text.split('\n'), ...plain.skopeo!.text.split('\n')]) expect(line).toMatch(/--(dest-)?tls-verify=false/)
    expect(plain['helm-oci']!.text).toMatch(/--insecure[\s\S]*--plain-http/)
    const text = ociSetMeUp({ ...base, baseUrl: 'https://artifacts.example.test' }).map((s) => s.text).join('\n')
    expect(text).not.toMatch(/tls-verify|plain-http|--insecure/)
    // The registry is the host (with its port); the repository is the first path segment.
    expect(text).toContain(' artifacts.example.test/team-local/my-image:1.0')
  })

  it('a remote repository: pulls only', () => {
    const remote = ociSetMeUp({ ...base, rclass: 'remote' })
    expect(remote.map((s) => s.id)).toEqual(['docker-login', 'docker-pull', 'podman', 'skopeo'])
    expect(remote.map((s) => s.text).join('\n')).not.toMatch(/podman push|skopeo copy|helm push/)
  })
})
