import { afterEach, describe, expect, it, vi } from 'vitest'
import { clientCommand, fileRequirement, requireClients, type Requirement } from './clients.js'

const absent: Requirement = fileRequirement('frobnicator', '/nonexistent/frobnicator', 'apt-get install -y frobnicator')
const present: Requirement = fileRequirement('this file', new URL(import.meta.url).pathname, 'nothing')

describe('requireClients: skip by hand, fail under CI', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
    vi.restoreAllMocks()
  })

  it('says yes, silently, when everything is there', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    vi.stubEnv('CI', 'true')
    expect(await requireClients('the suite', [present, 'npm'])).toBe(true)
    expect(warn).not.toHaveBeenCalled()
  })

  it('by hand: skips with one line naming the suite, what is missing and how to install it', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    vi.stubEnv('CI', '')
    expect(await requireClients('the frobnication suite', [present, absent])).toBe(false)
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0]![0]).toBe(
      'SKIPPING the frobnication suite: missing frobnicator (/nonexistent/frobnicator does not exist; install: apt-get install -y frobnicator)',
    )
  })

  it('under CI=true: fails instead, whatever else is there', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    vi.stubEnv('CI', 'true')
    await expect(requireClients('the frobnication suite', [present, absent])).rejects.toThrow(
      /^the frobnication suite cannot run: missing frobnicator \(\/nonexistent\/frobnicator does not exist; install: apt-get install -y frobnicator\); under CI=true that fails the run/,
    )
    expect(warn).not.toHaveBeenCalled()
  })

  it('probes a known client by running it, and names the command that failed', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    vi.stubEnv('CI', '')
    vi.stubEnv('PATH', '/nonexistent')
    expect(await requireClients('the curl suite', ['curl'])).toBe(false)
    expect(warn.mock.calls[0]![0]).toMatch(/^SKIPPING the curl suite: missing curl \(`curl --version` failed: .*ENOENT.*; install: apt-get install -y curl\)$/)
  })

  it('runs pnpm and yarn from the devDependencies, not from PATH', () => {
    expect(clientCommand('pnpm')).toMatch(/\/node_modules\/\.bin\/pnpm$/)
    expect(clientCommand('yarn')).toMatch(/\/node_modules\/\.bin\/yarn$/)
  })
})
