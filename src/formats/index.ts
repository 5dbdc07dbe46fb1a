import type { Format } from './format.js'
import { genericFormat } from './generic/index.js'

/** Every format Trove serves. */
export const FORMATS: readonly Format[] = [genericFormat]
