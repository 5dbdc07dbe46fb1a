/**
 * Summarises a V8 CPU profile (`node --cpu-prof`; `BENCH_CPU_PROF=<folder> npm run bench` writes
 * one per Trove process): the functions with the most self time, the most inclusive time, and
 * the time by package. Idle time is left out of the shares.
 *
 *   npx tsx bench/cpu-profile.ts <file.cpuprofile> [--last <seconds>] [--match <regexp>]
 *
 * `--last` keeps only the samples of the profile's last seconds (the measurement, not the start);
 * `--match` lists only the inclusive entries whose label matches.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}

interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly startTime: number
  readonly endTime: number
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { last: { type: 'string' }, match: { type: 'string' } } })
const [file] = positionals
if (!file) {
  process.stderr.write('usage: cpu-profile.ts <file.cpuprofile> [--last <seconds>] [--match <regexp>]\n')
  process.exit(2)
}
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parentOf = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)

// Time per sampled node, within the window.
const from = values.last ? profile.endTime - Number(values.last) * 1e6 : -Infinity
const timeOf = new Map<number, number>()
let at = profile.startTime
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0
  at += delta
  if (at >= from) timeOf.set(id, (timeOf.get(id) ?? 0) + delta)
})

const label = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame
  const where = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|bench|test)\//, '$1/')
  return `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`
}
const packageOf = (node: ProfileNode) => {
  const { url, functionName } = node.callFrame
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]
  if (pkg) return pkg
  if (url.includes('/src/')) return 'trove'
  if (url.startsWith('node:')) return 'node'
  return url === '' ? `(native) ${functionName}` : url
}

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
const packages = new Map<string, number>()
let idle = 0
let total = 0
for (const [id, time] of timeOf) {
  const node = byId.get(id)!
  total += time
  if (node.callFrame.functionName === '(idle)') {
    idle += time
    continue
  }
  self.set(label(node), (self.get(label(node)) ?? 0) + time)
  packages.set(packageOf(node), (packages.get(packageOf(node)) ?? 0) + time)
  const seen = new Set<string>()
  for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
    const name = label(byId.get(current)!)
    if (seen.has(name)) continue // recursion counts once
    seen.add(name)
    inclusive.set(name, (inclusive.get(name) ?? 0) + time)
  }
}

const busy = total - idle
const share = (time: number) => `${((100 * time) / busy).toFixed(1).padStart(5)}%`
const top = (entries: Map<string, number>, count: number, match?: RegExp) =>
  [...entries]
    .filter(([name]) => !match || match.test(name))
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, time]) => `${share(time)}  ${name}`)
    .join('\n')

console.log(`${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (shares below are of the busy time)\n`)
console.log(`self time\n${top(self, 25)}\n`)
console.log(`inclusive time${values.match ? ` (matching ${values.match})` : ''}\n${top(inclusive, 40, values.match ? new RegExp(values.match) : undefined)}\n`)
console.log(`by package\n${top(packages, 15)}`)
