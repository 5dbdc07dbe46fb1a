import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { expectedOfDist } from './resolver.js'

describe('expectedOfDist', () => {
  const bytes = Buffer.from('tarball bytes')
  const sha1 = createHash('sha1').update(bytes).digest('hex')
  const sha512 = `sha512-${createHash('sha512').update(bytes).digest('base64')}`

  it('verifies a sha512 integrity through dist.shasum (the engine checks sha256, sha1 and md5)', () => {
    expect(expectedOfDist({ integrity: sha512, shasum: sha1 })).toEqual({ sha1 })
    expect(expectedOfDist({ integrity: sha512, shasum: sha1.toUpperCase() })).toEqual({ sha1 })
  })

  it('reads a sha1 integrity when there is no shasum', () => {
    expect(expectedOfDist({ integrity: `sha1-${createHash('sha1').update(bytes).digest('base64')}` })).toEqual({ sha1 })
  })

  it('expects nothing it cannot check', () => {
    expect(expectedOfDist({ integrity: sha512 })).toEqual({})
    expect(expectedOfDist({ shasum: 'not-a-sha1' })).toEqual({})
  })
})
