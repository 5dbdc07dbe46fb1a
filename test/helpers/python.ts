/**
 * Python distributions built in the test (no build tools needed): wheels as zips written with
 * yazl, sdists as tarballs written with tar; and the Debian clients (`twine`, `python3 -m pip`)
 * run as a developer runs them, each with its own HOME, no user config and no cache.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { create as createTar } from 'tar'
import yazl from 'yazl'

/** The Debian interpreter (its pip is python3-pip), not one a version manager put first on PATH. */
export const PYTHON = '/usr/bin/python3'
export const TWINE = '/usr/bin/twine'

export interface PythonDist {
  readonly filename: string
  readonly bytes: Buffer
  readonly sha256: string
  /** The core metadata (a wheel's METADATA, an sdist's PKG-INFO). */
  readonly metadata: string
}

export interface DistOptions {
  readonly name: string
  readonly version: string
  readonly requiresPython?: string
  readonly requires?: readonly string[]
  readonly summary?: string
  /** What `import <module>` gives: `VALUE`; defaults to `name@version`. */
  readonly value?: string
  /** Wheel tag; `py3-none-any` by default. */
  readonly tag?: string
  /** Extra bytes to make the file larger (a data file in the package). */
  readonly padding?: number
  /** Further files of a wheel (path → content), listed in its RECORD like the others. */
  readonly files?: Readonly<Record<string, string | Buffer>>
  /**
   * Rewrites a wheel's RECORD rows (`path,sha256=…,size`, its own `…/RECORD,,` last) to build a
   * broken wheel; `undefined` leaves RECORD out of the wheel.
   */
  readonly editRecord?: (rows: string[]) => string[] | undefined
}

/** The escaped distribution name used in filenames (PEP 427). */
export function escapedName(name: string): string {
  return name.replace(/[-_.]+/g, '_')
}

export function moduleName(name: string): string {
  return name.replace(/[-.]+/g, '_').toLowerCase()
}

function coreMetadata(options: DistOptions): string {
  const lines = ['Metadata-Version: 2.1', `Name: ${options.name}`, `Version: ${options.version}`, `Summary: ${options.summary ?? `test package ${options.name}`}`]
  if (options.requiresPython) lines.push(`Requires-Python: ${options.requiresPython}`)
  for (const requirement of options.requires ?? []) lines.push(`Requires-Dist: ${requirement}`)
  return `${lines.join('\n')}\n\nA package built by the Trove tests.\n`
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** A pure-Python wheel with a module that defines `VALUE`, and a correct RECORD (unless `editRecord` breaks it). */
export async function buildWheel(options: DistOptions): Promise<PythonDist> {
  const dist = escapedName(options.name)
  const tag = options.tag ?? 'py3-none-any'
  const distInfo = `${dist}-${options.version}.dist-info`
  const module = moduleName(options.name)
  const metadata = coreMetadata(options)
  const files: [string, Buffer][] = [
    [`${module}/__init__.py`, Buffer.from(`VALUE = ${JSON.stringify(options.value ?? `${options.name}@${options.version}`)}\n`)],
    [`${distInfo}/METADATA`, Buffer.from(metadata)],
    [`${distInfo}/WHEEL`, Buffer.from(`Wheel-Version: 1.0\nGenerator: trove-tests\nRoot-Is-Purelib: true\nTag: ${tag}\n`)],
  ]
  if (options.padding) files.splice(1, 0, [`${module}/data.bin`, Buffer.alloc(options.padding, 7)])
  for (const [path, content] of Object.entries(options.files ?? {})) files.splice(files.length - 2, 0, [path, Buffer.from(content)])
  // RECORD (PEP 376/427): every file with its urlsafe-base64 sha256 (no padding) and size; itself without either.
  const rows = files.map(([path, bytes]) => `${csvField(path)},sha256=${createHash('sha256').update(bytes).digest('base64url')},${bytes.length}`)
  rows.push(`${csvField(`${distInfo}/RECORD`)},,`)
  const record = options.editRecord ? options.editRecord(rows) : rows
  if (record) files.push([`${distInfo}/RECORD`, Buffer.from(`${record.join('\n')}\n`)])
  const zip = new yazl.ZipFile()
  for (const [path, bytes] of files) zip.addBuffer(bytes, path, { mtime: new Date(2024, 0, 1) })
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk)
  const bytes = Buffer.concat(chunks)
  return { filename: `${dist}-${options.version}-${tag}.whl`, bytes, sha256: sha256(bytes), metadata }
}

/** Uploads a built distribution to `url` (a PyPI repository's upload URL) as twine does; resolves to the status and body. */
export async function uploadDist(url: string, authorization: string, options: { name: string; version: string }, dist: PythonDist): Promise<{ status: number; text: string }> {
  const form = new FormData()
  const fields = { ':action': 'file_upload', protocol_version: '1', name: options.name, version: options.version, filetype: dist.filename.endsWith('.whl') ? 'bdist_wheel' : 'sdist', sha256_digest: dist.sha256 }
  for (const [key, value] of Object.entries(fields)) form.append(key, value)
  form.append('content', new Blob([dist.bytes]), dist.filename)
  const res = await fetch(url, { method: 'POST', body: form, headers: { authorization } })
  return { status: res.status, text: await res.text() }
}

/** A field as Python's csv.writer writes it: quoted when it holds a comma, a quote or a line break. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

/** An sdist (`name-version.tar.gz`) with PKG-INFO, a setup.py and the module. */
export async function buildSdist(options: DistOptions): Promise<PythonDist> {
  const base = `${escapedName(options.name).toLowerCase()}-${options.version}`
  const dir = await mkdtemp(join(tmpdir(), 'trove-sdist-'))
  const metadata = coreMetadata(options)
  try {
    const module = moduleName(options.name)
    const files: Record<string, string> = {
      'PKG-INFO': metadata,
      'setup.py': `from setuptools import setup\nsetup(name=${JSON.stringify(options.name)}, version=${JSON.stringify(options.version)}, packages=[${JSON.stringify(module)}])\n`,
      [`${module}/__init__.py`]: `VALUE = ${JSON.stringify(options.value ?? `${options.name}@${options.version}`)}\n`,
    }
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, base, path)), { recursive: true })
      await writeFile(join(dir, base, path), content)
    }
    const chunks: Buffer[] = []
    for await (const chunk of createTar({ gzip: true, cwd: dir, portable: true }, [base]) as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk))
    const bytes = Buffer.concat(chunks)
    return { filename: `${base}.tar.gz`, bytes, sha256: sha256(bytes), metadata }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export interface CommandResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly output: string
}

export function runCommand(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env: options.env, cwd: options.cwd, timeout: options.timeoutMs ?? 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr), output: `${String(stdout)}${String(stderr)}` })
    })
  })
}

/** A developer's machine in miniature for pip and twine: HOME, a work folder, no config, no cache. */
export class PythonHome {
  private constructor(readonly root: string) {}

  static async create(): Promise<PythonHome> {
    const root = await mkdtemp(join(tmpdir(), 'trove-python-'))
    await mkdir(join(root, 'home'), { recursive: true })
    await mkdir(join(root, 'work'), { recursive: true })
    return new PythonHome(root)
  }

  get home(): string {
    return join(this.root, 'home')
  }

  path(...parts: string[]): string {
    return join(this.root, 'work', ...parts)
  }

  async write(relative: string, content: string | Buffer): Promise<string> {
    const file = this.path(relative)
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, content)
    return file
  }

  /** The environment: no user or site pip config unless `PIP_CONFIG_FILE` is given, no keyring prompts. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env)) {
      if (/^(PIP_|TWINE_|PYTHON|VIRTUAL_ENV|PYENV)/.test(key)) continue
      env[key] = value
    }
    return {
      ...env,
      HOME: this.home,
      XDG_CONFIG_HOME: join(this.home, '.config'),
      XDG_CACHE_HOME: join(this.home, '.cache'),
      PIP_CONFIG_FILE: '/dev/null',
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      PIP_NO_INPUT: '1',
      PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring',
      // twine prints through rich, which wraps at the terminal's width: one message, one line.
      COLUMNS: '400',
      ...extra,
    }
  }

  pip(args: readonly string[], extra: Record<string, string> = {}): Promise<CommandResult> {
    return runCommand(PYTHON, ['-m', 'pip', ...args], { env: this.env(extra), cwd: this.path() })
  }

  /** pip run by another interpreter (`python3` on PATH may be newer than Debian's). */
  pipWith(python: string, args: readonly string[], extra: Record<string, string> = {}): Promise<CommandResult> {
    return runCommand(python, ['-m', 'pip', ...args], { env: this.env(extra), cwd: this.path() })
  }

  /** The pip version of an interpreter, `undefined` when it has none. */
  async pipVersion(python: string): Promise<{ python: string; version: [number, number] } | undefined> {
    const result = await runCommand(python, ['-m', 'pip', '--version'], { env: this.env(), timeoutMs: 30_000 })
    const match = /^pip (\d+)\.(\d+)/.exec(result.stdout)
    return result.code === 0 && match ? { python, version: [Number(match[1]), Number(match[2])] } : undefined
  }

  python(args: readonly string[], extra: Record<string, string> = {}): Promise<CommandResult> {
    return runCommand(PYTHON, [...args], { env: this.env(extra), cwd: this.path() })
  }

  twine(args: readonly string[], extra: Record<string, string> = {}): Promise<CommandResult> {
    return runCommand(TWINE, [...args], { env: this.env(extra), cwd: this.path() })
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true })
  }
}
