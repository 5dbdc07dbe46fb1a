import { describe, it } from 'vitest'
import { expectAgreesWithVectors } from '../../../test/helpers/version-vectors.js'
import { comparePep440 } from './pep440.js'

describe('PEP 440 (PyPI) ordering', () => {
  it.each(['pypi-versions.txt', 'pypi-versions-generated.txt'])('agrees with every line of %s, both ways round', (file) => {
    expectAgreesWithVectors(comparePep440, file)
  })
})
