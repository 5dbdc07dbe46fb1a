#!/usr/bin/env node
// A stand-in for the `helm` binary's chart-repository side, which the test machines do not have:
// what `helm repo add`, `helm repo update`, `helm install <repo>/<chart> --version <v>` and
// `helm package <dir>` do over HTTP and on disk, so that the Set Me Up snippets run unchanged.
// As helm does: index.yaml is fetched with the repository's credentials, a chart URL is resolved
// against the repository URL (credentials sent only to the same host), and the download must
// match the index's sha256 `digest`. State lives in $HOME/.helm-standin; an install writes the
// chart to $HOME/.helm-standin/installed/<release>.tgz. Anything else exits 2.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { create as createTar } from 'tar'
import { parse as parseYaml } from 'yaml'

const state = join(process.env.HOME, '.helm-standin')
mkdirSync(join(state, 'installed'), { recursive: true })

/** Positional arguments and `--name value` options. */
function parseArgs(args) {
  const positional = []
  const options = {}
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith('--')) options[args[i].slice(2)] = args[++i]
    else positional.push(args[i])
  }
  return { positional, options }
}

function fail(message) {
  process.stderr.write(`Error: ${message}\n`)
  process.exit(1)
}

async function get(url, repo) {
  const headers = {}
  if (repo.username !== undefined && new URL(url).host === new URL(repo.url).host) {
    headers.authorization = `Basic ${Buffer.from(`${repo.username}:${repo.password}`).toString('base64')}`
  }
  const response = await fetch(url, { headers })
  if (!response.ok) fail(`looks like "${repo.url}" is not a valid chart repository or cannot be reached: ${url} answered ${response.status}`)
  return Buffer.from(await response.arrayBuffer())
}

async function fetchIndex(name) {
  const repo = JSON.parse(readFileSync(join(state, `${name}.repo.json`), 'utf8'))
  const index = await get(`${repo.url.replace(/\/+$/, '')}/index.yaml`, repo)
  const parsed = parseYaml(index.toString('utf8'))
  if (!parsed || typeof parsed.entries !== 'object') fail(`${repo.url}/index.yaml is not a chart repository index`)
  writeFileSync(join(state, `${name}.index.yaml`), index)
}

const [command, ...rest] = process.argv.slice(2)
const { positional, options } = parseArgs(rest)
if (command === 'repo' && positional[0] === 'add') {
  const [, name, url] = positional
  writeFileSync(join(state, `${name}.repo.json`), JSON.stringify({ url, username: options.username, password: options.password }))
  await fetchIndex(name)
  process.stdout.write(`"${name}" has been added to your repositories\n`)
} else if (command === 'repo' && positional[0] === 'update') {
  for (const file of readdirSync(state).filter((f) => f.endsWith('.repo.json'))) await fetchIndex(file.slice(0, -'.repo.json'.length))
  process.stdout.write('Update Complete. ⎈Happy Helming!⎈\n')
} else if (command === 'install') {
  const [release, ref] = positional
  const [name, chart] = ref.split('/')
  const repo = JSON.parse(readFileSync(join(state, `${name}.repo.json`), 'utf8'))
  const index = parseYaml(readFileSync(join(state, `${name}.index.yaml`), 'utf8'))
  const entry = (index.entries[chart] ?? []).find((e) => options.version === undefined || e.version === options.version)
  if (!entry) fail(`chart "${chart}" matching ${options.version ?? 'any version'} not found in ${name} index`)
  const url = new URL(entry.urls[0], `${repo.url.replace(/\/+$/, '')}/`).toString()
  const bytes = await get(url, repo)
  const digest = createHash('sha256').update(bytes).digest('hex')
  if (entry.digest && entry.digest !== digest) fail(`${url}: digest ${digest} does not match the index's ${entry.digest}`)
  writeFileSync(join(state, 'installed', `${release}.tgz`), bytes)
  process.stdout.write(`NAME: ${release}\nSTATUS: deployed\nCHART: ${chart}-${entry.version}\n`)
} else if (command === 'package') {
  const dir = resolve(positional[0])
  const chart = parseYaml(readFileSync(join(dir, 'Chart.yaml'), 'utf8'))
  const file = `${chart.name}-${chart.version}.tgz`
  await createTar({ gzip: true, portable: true, cwd: resolve(dir, '..'), file }, [dir.split('/').pop()])
  process.stdout.write(`Successfully packaged chart and saved it to: ${resolve(file)}\n`)
} else {
  process.stderr.write(`helm stand-in: unsupported command: ${process.argv.slice(2).join(' ')}\n`)
  process.exit(2)
}
