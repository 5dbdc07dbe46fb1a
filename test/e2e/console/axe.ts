import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'

const require = createRequire(import.meta.url)
/**
 * axe-core's browser script, evaluated in the page under test (it is not part of the console):
 * evaluated through the DevTools protocol, which the console's Content-Security-Policy does not
 * govern, where a script tag would be refused.
 */
const AXE_SCRIPT = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

interface AxeViolation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: readonly { readonly target: readonly string[] }[]
}

/**
 * Checks the page as it is now with axe-core (WCAG 2.1 A and AA rules): labels on every control,
 * names on links and buttons, contrast, landmarks, table headers. A failure lists each rule
 * broken and where.
 */
export async function expectAccessible(page: Page): Promise<void> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SCRIPT)
  const violations = (await page.evaluate(`window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`)) as AxeViolation[]
  expect(violations.filter((v) => !isOpenTreeItemName(v)).map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
}

/**
 * An open folder of the file tree (the WAI-ARIA tree pattern) holds its children's group, so its
 * visible text includes their names while its accessible name is its own label (aria-labelledby),
 * as the pattern wants; axe's label-content-name-mismatch reads that as a
 * mismatch. Only that rule on tree items is set aside.
 */
function isOpenTreeItemName(violation: AxeViolation): boolean {
  return violation.id === 'label-content-name-mismatch' && violation.nodes.every((n) => n.target.every((t) => /^\.(folder|file)\b|\[role="treeitem"\]/.test(t)))
}
