/**
 * Helm charts made by the tests themselves (no `helm` binary on the test machines): a chart
 * folder (Chart.yaml, values.yaml, templates/) packed as `helm package` does, a gzipped tar whose
 * entries all sit under `<name>/`.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { create as createTar } from 'tar'
import { stringify } from 'yaml'

export interface ChartSpec {
  readonly name: string
  readonly version: string
  readonly appVersion?: string
  readonly description?: string
  /** More Chart.yaml fields (dependencies, keywords, maintainers, annotations, …). */
  readonly fields?: Record<string, unknown>
  /** The folder the files are packed under; the chart's name unless testing a bad one. */
  readonly dir?: string
  /** Chart.yaml text as is, instead of one made from the fields above. */
  readonly chartYaml?: string
  /** Leave Chart.yaml out (not a chart). */
  readonly withoutChartYaml?: boolean
}

/** A chart archive (`<name>-<version>.tgz` content), gzipped tar, as bytes. */
export async function buildChart(spec: ChartSpec): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), 'trove-helm-chart-'))
  try {
    const dir = spec.dir ?? spec.name
    const files: Record<string, string> = {
      'values.yaml': 'replicaCount: 1\nimage:\n  repository: example/app\n  tag: latest\n',
      'templates/deployment.yaml': [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: {{ .Release.Name }}',
        'spec:',
        '  replicas: {{ .Values.replicaCount }}',
        '',
      ].join('\n'),
      '.helmignore': '.git/\n',
    }
    if (!spec.withoutChartYaml) {
      files['Chart.yaml'] =
        spec.chartYaml ??
        stringify({
          apiVersion: 'v2',
          name: spec.name,
          version: spec.version,
          description: spec.description ?? `The ${spec.name} chart`,
          type: 'application',
          ...(spec.appVersion ? { appVersion: spec.appVersion } : {}),
          ...spec.fields,
        })
    }
    for (const [path, content] of Object.entries(files)) {
      const full = join(work, dir, path)
      await mkdir(dirname(full), { recursive: true })
      await writeFile(full, content)
    }
    const out = join(work, 'chart.tgz')
    // Chart.yaml first, as `helm package` writes it.
    const order = Object.keys(files).sort((a, b) => (a === 'Chart.yaml' ? -1 : b === 'Chart.yaml' ? 1 : a < b ? -1 : 1))
    await createTar({ gzip: true, cwd: work, file: out, portable: true }, order.map((p) => `${dir}/${p}`))
    return await readFile(out)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** A chart's file name as Helm packs it. */
export const chartFile = (name: string, version: string) => `${name}-${version}.tgz`
