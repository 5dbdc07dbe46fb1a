/**
 * The HTTP helpers a format's routes may use: access checks, request bodies, error bodies, sending
 * files and ranges, URLs. Formats import the HTTP layer only through this file.
 */
export { AccessGuard, folderChangeGuard, refusal } from './access.js'
export { MAX_DRAIN_BYTES, declaredLength, drainBeforeAnswer, uploadBody } from './drain.js'
export { coreErrorOf, normalizeError, sendRestError, sendRestUploadError } from './errors.js'
export { matchesEtag, parseRange } from './ranges.js'
export { sendDocument } from './documents.js'
export { deployBody } from './routes/artifacts.js'
export { sendBody, sendFile, sendGenerated } from './send.js'
export { baseUrlOf } from './urls.js'
