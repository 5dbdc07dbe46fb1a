import { describe, expect, it } from 'vitest'
import { helmSetMeUp } from './set-me-up.js'

const base = { key: 'charts', rclass: 'local', baseUrl: 'http://localhost:8081', user: 'alice' }

describe('Helm Set Me Up', () => {
  it('a remote repository: repo add only; a virtual one uploads to its deployment repository', () => {
    expect(helmSetMeUp({ ...base, rclass: 'remote' }).map((s) => s.id)).toEqual(['helm-repo-add'])
    const upload = helmSetMeUp({ ...base, rclass: 'virtual' }).find((s) => s.id === 'helm-upload')
    expect(upload?.description).toMatch(/deployment repository/)
  })

  it('uploads the chart with curl to the chart API, named as helm package names it', () => {
    const upload = helmSetMeUp(base).find((s) => s.id === 'helm-upload')!
    expect(upload.text.split('\n')).toEqual(['helm package ./my-chart', 'curl -u alice:<TOKEN> -T my-chart-0.1.0.tgz "http://localhost:8081/artifactory/api/helm/charts/my-chart-0.1.0.tgz"'])
  })
})
