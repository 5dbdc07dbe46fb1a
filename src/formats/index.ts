import { composerFormat } from './composer/index.js'
import type { Format } from './format.js'
import { cargoFormat } from './cargo/index.js'
import { genericFormat } from './generic/index.js'
import { goFormat } from './go/index.js'
import { helmFormat } from './helm/index.js'
import { mavenFormat } from './maven/index.js'
import { npmFormat } from './npm/index.js'
import { ociFormat } from './oci/index.js'
import { pypiFormat } from './pypi/index.js'
import { gemsFormat } from './rubygems/index.js'

/** Every format Trove serves. */
export const FORMATS: readonly Format[] = [genericFormat, npmFormat, ociFormat, pypiFormat, helmFormat, mavenFormat, goFormat, cargoFormat, composerFormat, gemsFormat]
