import type { Format } from './format.js'
import { genericFormat } from './generic/index.js'
import { npmFormat } from './npm/index.js'
import { ociFormat } from './oci/index.js'

/** Every format Trove serves. */
export const FORMATS: readonly Format[] = [genericFormat, npmFormat, ociFormat]
