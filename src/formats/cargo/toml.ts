/**
 * A reader of the part of TOML that Cargo writes into what it packages and locks: the normalised
 * `Cargo.toml` of a `.crate` (`[package]` with `name = "…"`, `version = "…"`) and `Cargo.lock`
 * (`[[package]]` tables of `name`, `version`, `source`). It reads tables, arrays of tables and
 * `key = "string"` pairs; every other value (numbers, arrays, inline tables, multi-line strings)
 * is skipped, never misread as a string. Not a general TOML parser: nothing else needs one.
 */
export interface TomlTable {
  readonly strings: ReadonlyMap<string, string>
}

export interface TomlDocument {
  /** `[name]` tables (dotted names as written), the root table as `''`. */
  readonly tables: ReadonlyMap<string, TomlTable>
  /** `[[name]]` arrays of tables, in order. */
  readonly arrays: ReadonlyMap<string, readonly TomlTable[]>
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/

export function readToml(text: string): TomlDocument {
  const tables = new Map<string, Map<string, string>>([['', new Map()]])
  const arrays = new Map<string, Map<string, string>[]>()
  let current: Map<string, string> | undefined = tables.get('')
  let skippingMultiline: string | undefined
  for (const raw of text.split(/\r?\n/)) {
    if (skippingMultiline) {
      if (raw.includes(skippingMultiline)) skippingMultiline = undefined
      continue
    }
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const arrayHeader = /^\[\[\s*([^\]]+?)\s*\]\]\s*(?:#.*)?$/.exec(line)
    if (arrayHeader) {
      const name = unquoteKey(arrayHeader[1]!)
      const list = arrays.get(name) ?? []
      current = new Map()
      list.push(current)
      arrays.set(name, list)
      continue
    }
    const header = /^\[\s*([^\]]+?)\s*\]\s*(?:#.*)?$/.exec(line)
    if (header) {
      const name = unquoteKey(header[1]!)
      current = tables.get(name) ?? new Map()
      tables.set(name, current)
      continue
    }
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const key = unquoteKey(line.slice(0, eq).trim())
    const value = line.slice(eq + 1).trim()
    for (const fence of ['"""', "'''"]) {
      if (value.startsWith(fence) && !value.slice(3).includes(fence)) skippingMultiline = fence
    }
    if (skippingMultiline) continue
    const string = readString(value)
    if (string !== undefined && current) current.set(key, string)
  }
  return {
    tables: new Map([...tables].map(([k, v]) => [k, { strings: v }])),
    arrays: new Map([...arrays].map(([k, v]) => [k, v.map((t) => ({ strings: t }))])),
  }
}

function unquoteKey(key: string): string {
  if (BARE_KEY.test(key)) return key
  return key
    .split('.')
    .map((part) => readString(part.trim()) ?? part.trim())
    .join('.')
}

/** A basic (`"…"`, with escapes) or literal (`'…'`) one-line string, followed by nothing but a comment. */
function readString(value: string): string | undefined {
  if (value.startsWith("'") && !value.startsWith("'''")) {
    const end = value.indexOf("'", 1)
    if (end < 0 || !isEndOfValue(value.slice(end + 1))) return undefined
    return value.slice(1, end)
  }
  if (!value.startsWith('"') || value.startsWith('"""')) return undefined
  let out = ''
  for (let i = 1; i < value.length; i++) {
    const c = value[i]!
    if (c === '"') return isEndOfValue(value.slice(i + 1)) ? out : undefined
    if (c !== '\\') {
      out += c
      continue
    }
    const e = value[++i]
    const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' }
    if (e !== undefined && simple[e] !== undefined) out += simple[e]
    else if (e === 'u' || e === 'U') {
      const length = e === 'u' ? 4 : 8
      const hex = value.slice(i + 1, i + 1 + length)
      if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== length) return undefined
      out += String.fromCodePoint(parseInt(hex, 16))
      i += length
    } else return undefined
  }
  return undefined
}

function isEndOfValue(rest: string): boolean {
  const trimmed = rest.trim()
  return trimmed === '' || trimmed.startsWith('#')
}
