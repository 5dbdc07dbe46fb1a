/**
 * The benchmarks' results file: every table a suite prints is also recorded, with when, on what
 * machine, under what load and from which build it was measured, and `npm run bench` writes them
 * to `bench/results/results.json` and renders `bench/results/RESULTS.md`. Figures are never
 * written by hand: a suite run replaces that suite's section and keeps the others' last runs.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describeLoad, machineLoad, printTable, type MachineLoad } from './report.js'

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')

export interface RecordedTable {
  readonly caption: string
  readonly rows: readonly (readonly string[])[]
}

export interface SuiteRun {
  readonly suite: string
  /** ISO 8601, when the suite started. */
  readonly startedAt: string
  readonly seconds: number
  /** What ran: the git commit (with `+dirty` for uncommitted changes) and whether Trove ran from `dist` or the sources. */
  readonly build: string
  readonly machine: string
  readonly loadBefore: MachineLoad
  readonly loadAfter: MachineLoad
  readonly loadSummary: string
  readonly tables: readonly RecordedTable[]
  readonly notes: readonly string[]
}

interface ResultsFile {
  readonly suites: Record<string, SuiteRun>
}

/** What one suite records; its tables are printed as they are recorded. */
export class SuiteReport {
  private readonly tables: RecordedTable[] = []
  private readonly notes: string[] = []
  private readonly started = Date.now()

  private constructor(
    readonly suite: string,
    private readonly loadBefore: MachineLoad,
  ) {}

  static async begin(suite: string): Promise<SuiteReport> {
    return new SuiteReport(suite, await machineLoad())
  }

  /** Prints a table under its caption and records it; rows[0] is the header. */
  table(caption: string, rows: readonly (readonly string[])[]): void {
    console.log(`\n${caption}\n`)
    printTable(rows)
    this.tables.push({ caption, rows: rows.map((r) => [...r]) })
  }

  /** A sentence that belongs with the figures (what was measured, a reason for a MISS). */
  note(text: string): void {
    console.log(text)
    this.notes.push(text)
  }

  /** Ends the suite: prints the machine's load and returns the record for the results file. */
  async end(build: string): Promise<SuiteRun> {
    const loadAfter = await machineLoad()
    const loadSummary = describeLoad(`${this.suite} suite`, this.loadBefore, loadAfter)
    console.log(`\n${loadSummary}; the suite took ${((Date.now() - this.started) / 1000).toFixed(0)} s`)
    return {
      suite: this.suite,
      startedAt: new Date(this.started).toISOString(),
      seconds: Math.round((Date.now() - this.started) / 1000),
      build,
      machine: machineDescription(),
      loadBefore: this.loadBefore,
      loadAfter,
      loadSummary,
      tables: this.tables,
      notes: this.notes,
    }
  }
}

/** The commit the bench ran from, `+dirty` when the work tree had changes. */
export async function describeBuild(troveFrom: string): Promise<string> {
  const git = async (args: string[]) => (await promisify(execFile)('git', args, { cwd: dirname(RESULTS_DIR) })).stdout.trim()
  try {
    const commit = await git(['rev-parse', '--short', 'HEAD'])
    const dirty = (await git(['status', '--porcelain', '--untracked-files=no'])) !== ''
    return `${commit}${dirty ? '+dirty' : ''}, Trove from ${troveFrom}`
  } catch {
    return `unknown commit, Trove from ${troveFrom}`
  }
}

function machineDescription(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU'
  return `${availableParallelism()} CPUs (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`
}

/** Adds the runs to the results file (replacing earlier runs of the same suites) and renders RESULTS.md. */
export async function writeResults(runs: readonly SuiteRun[], dir = RESULTS_DIR): Promise<string> {
  await mkdir(dir, { recursive: true })
  const jsonFile = join(dir, 'results.json')
  let existing: ResultsFile = { suites: {} }
  try {
    existing = JSON.parse(await readFile(jsonFile, 'utf8')) as ResultsFile
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const merged: ResultsFile = { suites: { ...existing.suites, ...Object.fromEntries(runs.map((r) => [r.suite, r])) } }
  await replaceFile(jsonFile, `${JSON.stringify(merged, null, 2)}\n`)
  const markdownFile = join(dir, 'RESULTS.md')
  await replaceFile(markdownFile, renderMarkdown(merged))
  return markdownFile
}

async function replaceFile(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text)
  await rename(`${file}.tmp`, file)
}

export function renderMarkdown(results: ResultsFile): string {
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (see [docs/benchmarks.md](../../docs/benchmarks.md) for what each suite measures and',
    'against which peer); never edited by hand. Each suite keeps the figures of its last run, with when, from which',
    'build and under what machine load they were measured: on a busy machine the figures are noisy.',
    '',
  ]
  for (const run of Object.values(results.suites).sort((a, b) => a.suite.localeCompare(b.suite))) {
    lines.push(`## ${run.suite}`, '')
    lines.push(`- measured: ${run.startedAt} (${run.seconds} s), build ${run.build}`)
    lines.push(`- machine: ${run.machine}`)
    lines.push(`- ${run.loadSummary}`, '')
    for (const table of run.tables) {
      lines.push(`**${table.caption}**`, '')
      const [header, ...rows] = table.rows
      if (header) {
        lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`)
        for (const row of rows) lines.push(`| ${row.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`)
      }
      lines.push('')
    }
    for (const note of run.notes) lines.push(note.trim(), '')
  }
  return `${lines.join('\n').trimEnd()}\n`
}
