/**
 * The header fields of core metadata (RFC 822 style, PEP 566): name → values, lower-case names.
 * Reads up to the first blank line (the description body follows it); continuation lines join.
 */
export function parseCoreMetadata(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>()
  let last: { name: string; index: number } | undefined
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break
    if (/^[ \t]/.test(line) && last) {
      const values = fields.get(last.name)!
      values[last.index] = `${values[last.index]}\n${line.trim()}`
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const values = fields.get(name) ?? []
    values.push(line.slice(colon + 1).trim())
    fields.set(name, values)
    last = { name, index: values.length - 1 }
  }
  return fields
}
