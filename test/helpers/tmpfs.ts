/** A real full disk for the tests that need one: a small tmpfs, mounted by the test (root only). */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Requirement } from './clients.js'

const run = promisify(execFile)

/** Mounts a tmpfs of `size` on a new folder; why not, when it cannot. */
export async function mountTmpfs(size: string): Promise<{ dir: string; unmount: () => Promise<void> } | { reason: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'trove-full-'))
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    return { reason: `cannot mount a tmpfs (${String((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}); run as root` }
  }
  return {
    dir,
    unmount: async () => {
      await run('umount', [dir])
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Mounting a tmpfs (root): the real full store this suite fills. */
export const TMPFS: Requirement = {
  name: 'the right to mount a tmpfs',
  install: 'run the tests as root',
  probe: async () => {
    const probe = await mountTmpfs('1m')
    if ('reason' in probe) return probe.reason
    await probe.unmount()
    return undefined
  },
}
