/**
 * The little of a go.mod file that Trove reads (https://go.dev/ref/mod#go-mod-file): its `module`
 * directive, and its `require` lines for the scanner. Comments (`//`) and quoted paths are
 * understood; everything else is left to the go command.
 */
export interface GoModFile {
  readonly module: string | undefined
  readonly requires: readonly { readonly path: string; readonly version: string; readonly isIndirect: boolean }[]
}

export function parseGoMod(text: string): GoModFile {
  let module: string | undefined
  const requires: { path: string; version: string; isIndirect: boolean }[] = []
  let block: string | undefined
  for (const raw of text.split(/\r?\n/)) {
    const comment = raw.indexOf('//')
    const isIndirect = comment >= 0 && /^\/\/\s*indirect\b/.test(raw.slice(comment).trim())
    const line = (comment >= 0 ? raw.slice(0, comment) : raw).trim()
    if (line === '') continue
    if (block !== undefined) {
      if (line === ')') {
        block = undefined
        continue
      }
      if (block === 'require') addRequire(requires, tokens(line), isIndirect)
      continue
    }
    const words = tokens(line)
    const verb = words[0]
    if (words.length === 2 && words[1] === '(') {
      block = verb
      continue
    }
    if (verb === 'module' && words.length === 2) module = words[1]
    else if (verb === 'require') addRequire(requires, words.slice(1), isIndirect)
  }
  return { module, requires }
}

function addRequire(into: { path: string; version: string; isIndirect: boolean }[], words: readonly string[], isIndirect: boolean): void {
  if (words.length >= 2) into.push({ path: words[0]!, version: words[1]!, isIndirect })
}

/** Words of a line; a "quoted" or `raw` path is one word, unquoted. */
function tokens(line: string): string[] {
  const words: string[] = []
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3]!)
  return words
}
