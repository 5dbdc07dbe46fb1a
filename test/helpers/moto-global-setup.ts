import type { TestProject } from 'vitest/node'
import { startMoto } from './s3.js'

/** Global setup of the `s3` project: one moto for the whole run, its endpoint provided to every test file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto()
  project.provide('motoEndpoint', moto.endpoint)
  return () => moto.stop()
}
