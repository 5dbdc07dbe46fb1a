import { expect } from 'vitest'
import type { Client } from './generic-support.js'

export const CLEANUP_POLICIES = '/artifactory/api/cleanup/packages/policies'

export interface CleanupRunBody {
  runId: string
  status: string
  bytes: number
  items: { package: string; version: string; paths: string[] }[]
}

/**
 * A policy's dry run, then its real run (waited for, bounded): both must select the same versions
 * with the same files and bytes. Returns what went, as `package@version:files` and as
 * `package@version`, sorted.
 */
export async function dryThenRun(admin: Client, policy: string): Promise<{ items: string[]; versions: string[] }> {
  const dry = (await admin.post(`${CLEANUP_POLICIES}/${policy}/run?dryRun=true`)).json() as CleanupRunBody
  const started = await admin.post(`${CLEANUP_POLICIES}/${policy}/run`)
  expect(started.status, started.text).toBe(201)
  let run: CleanupRunBody | undefined
  for (let i = 0; i < 600 && (run?.status ?? 'queued') !== 'succeeded'; i++) {
    run = (await admin.get(`/artifactory/api/cleanup/runs/${(started.json() as CleanupRunBody).runId}`)).json() as CleanupRunBody
    expect(run.status).not.toBe('failed')
    if (run.status !== 'succeeded') await new Promise((resolve) => setTimeout(resolve, 100))
  }
  expect(run?.status).toBe('succeeded')
  const names = (r: CleanupRunBody) => r.items.map((i) => `${i.package}@${i.version}:${[...i.paths].sort().join(',')}`).sort()
  expect(names(run!)).toEqual(names(dry))
  expect(run!.bytes).toBe(dry.bytes)
  return { items: names(run!), versions: run!.items.map((i) => `${i.package}@${i.version}`).sort() }
}
