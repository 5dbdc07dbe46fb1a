import { describe, expect, it } from 'vitest'
import { cargoSetMeUp } from './set-me-up.js'

const base = { key: 'crates', rclass: 'local', baseUrl: 'http://localhost:8081/', user: 'alice' }

describe('Cargo Set Me Up', () => {
  it('a local repository: the sparse registry, its token, a dependency and publish', () => {
    const snippets = cargoSetMeUp(base)
    expect(snippets.map((s) => s.id)).toEqual(['cargo-config', 'cargo-credentials', 'cargo-dependency', 'cargo-publish'])
    expect(snippets[0]!.text).toContain('index = "sparse+http://localhost:8081/artifactory/api/cargo/crates/index/"')
    expect(snippets[0]!.text).not.toContain('replace-with')
    expect(snippets[1]!.text).toBe('[registries.trove]\ntoken = "<TOKEN>"')
  })

  it('a remote or virtual repository replaces the default source; a remote takes no publish', () => {
    const remote = cargoSetMeUp({ ...base, rclass: 'remote' })
    expect(remote.map((s) => s.id)).not.toContain('cargo-publish')
    expect(remote[0]!.text).toMatch(/\[source\.crates-io\]\nreplace-with = "trove"/)
    expect(cargoSetMeUp({ ...base, rclass: 'virtual', token: 'tok' }).find((s) => s.id === 'cargo-publish')!.description).toMatch(/deployment repository/)
  })
})
