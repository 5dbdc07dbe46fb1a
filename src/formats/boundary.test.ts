/**
 * The layering, checked on the import statements of the sources (read with the TypeScript
 * compiler's parser): formats → http → core → metadata/storage, a format is one folder, and
 * formats reach the core and the HTTP layer only through their index files. A failure names
 * each file and import that breaks a rule.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { FORMATS } from './index.js'

const ROOT = resolve(import.meta.dirname, '../..')
const MAX_LINES = 500

/**
 * Files over the limit today, each with the issue that splits it; the test fails when one of
 * them is back under the limit, so that the entry goes too.
 */
const KNOWN_OVERSIZE: Readonly<Record<string, string>> = {}

interface Import {
  /** Relative to the repository root, e.g. `src/core/errors.ts`. */
  readonly target: string
  readonly isTypeOnly: boolean
  readonly line: number
}

interface SourceFile {
  readonly path: string
  readonly lines: number
  readonly imports: readonly Import[]
}

function walk(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = `${folder}/${entry.name}`
    if (entry.isDirectory()) return walk(path)
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** The relative imports and re-exports of a file, resolved to repository paths (`.js` → `.ts`). */
function parse(path: string): SourceFile {
  const text = readFileSync(join(ROOT, path), 'utf8')
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false)
  const imports: Import[] = []
  const add = (specifier: ts.Expression | undefined, isTypeOnly: boolean, node: ts.Node) => {
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return
    const target = relative(ROOT, resolve(ROOT, dirname(path), specifier.text)).replace(/\.js$/, '.ts')
    imports.push({ target, isTypeOnly, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 })
  }
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) add(statement.moduleSpecifier, isTypeOnlyImport(statement.importClause), statement)
    else if (ts.isExportDeclaration(statement)) add(statement.moduleSpecifier, statement.isTypeOnly, statement)
  }
  // Dynamic imports (`await import('./x.js')`) count as well.
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], false, node)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return { path, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), imports }
}

/** `import type { A }`, and `import { type A, type B }` (erased as well); a bare `import './x.js'` runs the module. */
function isTypeOnlyImport(clause: ts.ImportClause | undefined): boolean {
  if (!clause) return false
  if (clause.isTypeOnly) return true
  const bindings = clause.namedBindings
  return clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)
}

const isTest = (path: string) => /\.test\.tsx?$/.test(path)
/** `src/formats/npm/routes.ts` → `src/formats/npm`; test-only formats (test/formats/<name>) too. */
const formatFolderOf = (path: string) => /^(src|test)\/formats\/[^/]+(?=\/)/.exec(path)?.[0]

const FORMAT_MAY_IMPORT = [
  /^src\/core\/index\.ts$/,
  /^src\/http\/index\.ts$/,
  /^src\/api\/[^/]+\.ts$/,
  /^src\/formats\/format\.ts$/,
  /^src\/formats\/set-me-up\.ts$/,
]

/** Every rule broken by `files`, one line each. */
export function boundaryViolations(files: readonly SourceFile[]): string[] {
  const problems: string[] = []
  for (const file of files) {
    const folder = formatFolderOf(file.path)
    for (const { target, line } of file.imports) {
      const at = `${file.path}:${line} imports ${target}`
      const targetFolder = formatFolderOf(target)
      if (folder && targetFolder && targetFolder !== folder) problems.push(`${at}: a format never imports another format`)
      if (isTest(file.path)) continue
      if (folder && targetFolder !== folder && /^src\/(core|http|metadata|storage|config)\//.test(target) && !FORMAT_MAY_IMPORT.some((p) => p.test(target))) {
        problems.push(`${at}: a format reaches the core and the HTTP layer only through src/core/index.ts and src/http/index.ts`)
      }
      if (file.path.startsWith('src/core/') && /^src\/(formats|http)\//.test(target)) problems.push(`${at}: the core never imports the HTTP layer or the formats`)
      if (file.path.startsWith('src/http/') && targetFolder) problems.push(`${at}: the HTTP layer knows formats only by src/formats/format.ts`)
      if (/^src\/(metadata|storage|config)\//.test(file.path) && /^src\/(core|http|formats)\//.test(target)) {
        problems.push(`${at}: the drivers and the configuration never import the layers above them`)
      }
    }
  }
  return problems
}

/**
 * Import cycles among the non-test sources, through imports that run (type-only imports are
 * erased: a module and the one declaring its types may name each other's types).
 */
export function importCycles(files: readonly SourceFile[]): string[][] {
  const graph = new Map(files.filter((f) => !isTest(f.path)).map((f) => [f.path, f.imports.filter((i) => !i.isTypeOnly).map((i) => i.target)]))
  const cycles: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (node: string) => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next])
      else if (!state.has(next)) visit(next)
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return cycles
}

const sources = [...walk('src'), ...walk('test/formats')].map(parse)

/**
 * String literals naming a package type (or the registry's `oci`) in a layer that must not switch
 * on one: the core, the HTTP layer, the API types, the drivers, the configuration, the console.
 * Landed migrations are data and stay as written.
 */
function packageTypeLiterals(paths: readonly string[], types: ReadonlySet<string>): string[] {
  const found: string[] = []
  for (const path of paths) {
    const kind = path.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS
    const source = ts.createSourceFile(path, readFileSync(join(ROOT, path), 'utf8'), ts.ScriptTarget.Latest, true, kind)
    const visit = (node: ts.Node): void => {
      if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && types.has(node.text) && !ts.isImportDeclaration(node.parent)) {
        found.push(`${path}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} '${node.text}'`)
      }
      ts.forEachChild(node, visit)
    }
    visit(source)
  }
  return found
}

describe('the format boundary', () => {
  it('holds: one folder per format, the core and the HTTP layer through their index files, no upward import', () => {
    expect(boundaryViolations(sources)).toEqual([])
  })

  it('names no package type in the core, the HTTP layer, the drivers, the configuration or the console', () => {
    const layers = [...walk('src'), ...walk('web/src')].filter(
      (path) => /^(src\/(core|http|api|metadata|storage|config)|web\/src)\//.test(path) && !isTest(path) && !path.startsWith('src/metadata/migrations/'),
    )
    expect(layers.length).toBeGreaterThan(100)
    expect(packageTypeLiterals(layers, new Set([...FORMATS.map((f) => f.id), 'oci']))).toEqual([])
  })

  it('has no import cycle', () => {
    expect(importCycles(sources).map((cycle) => cycle.join(' → '))).toEqual([])
  })

  it(`has no source file over ${MAX_LINES} lines`, () => {
    const oversize = sources.filter((f) => f.lines > MAX_LINES).map((f) => `${f.path} (${f.lines} lines)`)
    expect(oversize.filter((entry) => !Object.keys(KNOWN_OVERSIZE).some((path) => entry.startsWith(`${path} `)))).toEqual([])
    for (const path of Object.keys(KNOWN_OVERSIZE)) {
      const file = sources.find((f) => f.path === path)
      if (file) expect(file.lines, `${path} is within the limit now: remove it from KNOWN_OVERSIZE`).toBeGreaterThan(MAX_LINES)
    }
  })

  it('finds what it is written to find', () => {
    // The checks themselves, on made-up files: each rule catches its case.
    const file = (path: string, ...targets: string[]): SourceFile => ({ path, lines: 1, imports: targets.map((target) => ({ target, isTypeOnly: false, line: 1 })) })
    expect(
      boundaryViolations([
        file('src/formats/npm/a.ts', 'src/formats/oci/b.ts', 'src/core/errors.ts', 'src/metadata/schema.ts', 'src/core/index.ts', 'src/formats/npm/c.ts'),
        file('src/formats/npm/a.test.ts', 'src/core/errors.ts', 'src/formats/pypi/d.ts'),
        file('src/core/x.ts', 'src/formats/format.ts', 'src/http/index.ts'),
        file('src/http/y.ts', 'src/formats/npm/routes.ts', 'src/formats/format.ts'),
        file('test/formats/sample/z.ts', 'src/storage/storage-driver.ts'),
      ]).map((p) => p.split(': ')[0]),
    ).toEqual([
      'src/formats/npm/a.ts:1 imports src/formats/oci/b.ts',
      'src/formats/npm/a.ts:1 imports src/core/errors.ts',
      'src/formats/npm/a.ts:1 imports src/metadata/schema.ts',
      'src/formats/npm/a.test.ts:1 imports src/formats/pypi/d.ts',
      'src/core/x.ts:1 imports src/formats/format.ts',
      'src/core/x.ts:1 imports src/http/index.ts',
      'src/http/y.ts:1 imports src/formats/npm/routes.ts',
      'test/formats/sample/z.ts:1 imports src/storage/storage-driver.ts',
    ])
    expect(importCycles([file('src/a.ts', 'src/b.ts'), file('src/b.ts', 'src/c.ts'), file('src/c.ts', 'src/a.ts'), file('src/d.ts', 'src/a.ts')])).toEqual([
      ['src/a.ts', 'src/b.ts', 'src/c.ts', 'src/a.ts'],
    ])
    const typeOnly = { path: 'src/e.ts', lines: 1, imports: [{ target: 'src/f.ts', isTypeOnly: true, line: 1 }] }
    expect(importCycles([typeOnly, file('src/f.ts', 'src/e.ts')])).toEqual([])
  })
})
