/**
 * A production install (`npm ci --omit=dev`) has only `dependencies`: every package the server
 * imports at runtime must be one, or `trove serve` fails at once with "Cannot find package". Type-only
 * imports are erased by the compiler and need nothing. `.ci/production-smoke.sh` proves the same on
 * a real install; this test finds the culprit by name, in a second.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const SRC = join(ROOT, 'src')

/** The server's source files: everything under src/ but the tests. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Module specifiers a file loads when it runs: value imports, re-exports and `import()`; not `import type`. */
function runtimeSpecifiers(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && !node.importClause?.isTypeOnly) found.push(node.moduleSpecifier.text)
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) found.push(node.moduleSpecifier.text)
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments
      if (argument && ts.isStringLiteral(argument)) found.push(argument.text)
      else found.push(`<import() of a computed specifier: ${node.getText(file)}>`)
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`); undefined for relative paths and Node's own modules. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

describe('runtime dependencies', () => {
  it('tells runtime imports from type-only ones', () => {
    const text = [
      "import type { Agent } from 'undici'",
      "import { type Dispatcher } from 'undici-types'", // kept as `import {} from`: it still loads the module
      "import pg from 'pg'",
      "import './side-effect.js'",
      "export { z } from 'zod'",
      "export type { Foo } from 'type-only-reexport'",
      "const lazy = () => import('@aws-sdk/client-s3/dist')",
    ].join('\n')
    expect(runtimeSpecifiers('x.ts', text)).toEqual(['undici-types', 'pg', './side-effect.js', 'zod', '@aws-sdk/client-s3/dist'])
    expect(['undici-types', 'pg', './side-effect.js', 'node:fs', 'fs/promises', '@aws-sdk/client-s3/dist'].map(packageOf)).toEqual([
      'undici-types',
      'pg',
      undefined,
      undefined,
      undefined,
      '@aws-sdk/client-s3',
    ])
  })

  it('every package src/ imports at runtime is in dependencies, not only devDependencies', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
    const dependencies = new Set(Object.keys(manifest.dependencies ?? {}))
    const files = sourceFiles(SRC)
    expect(files.length).toBeGreaterThan(50)
    const missing = files.flatMap((file) =>
      runtimeSpecifiers(file, readFileSync(file, 'utf8'))
        .filter((specifier) => {
          if (specifier.startsWith('<')) return true
          const name = packageOf(specifier)
          return name !== undefined && !dependencies.has(name)
        })
        .map((specifier) => `${relative(ROOT, file)} imports '${specifier}'`),
    )
    expect(missing, 'move these packages to "dependencies" in package.json').toEqual([])
  })
})
