import { describe, expect, it } from 'vitest'
import { gemsSetMeUp } from './set-me-up.js'

const base = { key: 'gems-local', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' }

describe('RubyGems Set Me Up', () => {
  it('a remote repository: sources, Gemfile and credentials only; a virtual one pushes to its deployment repository', () => {
    expect(gemsSetMeUp({ ...base, rclass: 'remote' }).map((s) => s.id)).toEqual(['gemrc', 'gemfile', 'bundle-config'])
    expect(gemsSetMeUp({ ...base, rclass: 'virtual' }).find((s) => s.id === 'gem-push')?.description).toMatch(/deployment repository/)
  })

  it('points gem, bundler and gem push at the repository', () => {
    const s = Object.fromEntries(gemsSetMeUp(base).map((x) => [x.id, x.text]))
    expect(s.gemrc).toBe('---\n:sources:\n- http://alice:<TOKEN>@localhost:8081/artifactory/api/gems/gems-local/')
    expect(s.gemfile).toContain('source "http://localhost:8081/artifactory/api/gems/gems-local/"')
    expect(s['bundle-config']).toBe('bundle config set --global http://localhost:8081/artifactory/api/gems/gems-local/ alice:<TOKEN>')
    expect(s['gem-push']).toContain('gem push my_gem-0.1.0.gem --host http://localhost:8081/artifactory/api/gems/gems-local')
  })
})
