import { TroveError } from './errors.js'

/**
 * How deep JSON from a client may nest (objects and arrays). `JSON.parse` itself copes with any
 * depth, but what comes next does not: `JSON.stringify` (storing a configuration, a manifest) and
 * every recursive walk overflow the stack a few thousand levels down, which surfaced as a 500.
 * No document Trove reads (package manifests, publish documents, OCI manifests, REST bodies)
 * comes near this; serde_json, which Cargo reads registries with, stops at 128.
 */
export const MAX_JSON_DEPTH = 256

const OPEN_OBJECT = 0x7b // {
const OPEN_ARRAY = 0x5b // [
const CLOSE_OBJECT = 0x7d // }
const CLOSE_ARRAY = 0x5d // ]
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Parses JSON from a client. Refuses (`BAD_REQUEST`, naming `what`: `'the request body'`) text
 * that is not JSON, or that nests deeper than `maxDepth`; the depth is checked first, by one scan
 * of the text that counts brackets outside strings, so nothing deep is ever built.
 */
export function parseJson(text: string, what: string, maxDepth = MAX_JSON_DEPTH): unknown {
  assertJsonDepth(text, what, maxDepth)
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new TroveError('BAD_REQUEST', `${what} is not valid JSON: ${(err as Error).message}`)
  }
}

/**
 * Refuses (`BAD_REQUEST`) JSON text nesting deeper than `maxDepth`. Only the depth is checked:
 * malformed text passes here and is refused by the parser.
 */
export function assertJsonDepth(text: string, what: string, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) {
      inString = true
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) throw tooDeep(what, maxDepth)
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--
    }
  }
}

function tooDeep(what: string, maxDepth: number): TroveError {
  return new TroveError('BAD_REQUEST', `${what} nests objects and arrays more than ${maxDepth} levels deep`)
}
