import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ServerProcess, childEnv, freePort } from './processes.js'
import { MiB } from './transfers.js'

const execFileAsync = promisify(execFile)

/** skopeo copies of the bench's images, bounded in time. */
const SKOPEO_TIMEOUT_MS = 300_000

/**
 * The distribution registry's configuration (Debian's `docker-registry`): filesystem storage in
 * `root`, deletes enabled, no auth, quiet logs, listening on 127.0.0.1.
 */
export function registryConfigYaml(root: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  cache:',
    '    blobdescriptor: inmemory',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(root)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${createHash('sha256').update(root).digest('hex')}`,
    'health:',
    '  storagedriver:',
    '    enabled: false',
    '',
  ].join('\n')
}

/** Runs skopeo with a policy that accepts anything (the bench's own images) and a bounded time. */
export async function skopeo(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('skopeo', ['--insecure-policy', ...args], { env, timeout: SKOPEO_TIMEOUT_MS, maxBuffer: 16 * MiB })
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? ''
    throw new Error(`skopeo ${args.join(' ')} failed: ${err instanceof Error ? err.message : String(err)}\n${stderr}`)
  }
}

/** Whether a command is on the PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    await execFileAsync('sh', ['-c', `command -v ${command}`])
    return true
  } catch {
    return false
  }
}

/** Debian's build of the distribution registry. */
export const REGISTRY_BINARY = '/usr/bin/docker-registry'

/**
 * Starts the distribution registry on a free port of 127.0.0.1 with its storage under `workDir`.
 * Quiet: it logs every 404 (a client's HEAD before a push) at error level, the lowest it has.
 */
export async function startRegistry(workDir: string): Promise<{ server: ServerProcess; host: string }> {
  const port = await freePort()
  const config = join(workDir, 'registry.yml')
  await writeFile(config, registryConfigYaml(join(workDir, 'registry-storage'), port))
  const server = await ServerProcess.start('registry', ['serve', config], childEnv({}), port, '/v2/', { command: REGISTRY_BINARY, echoStderr: false })
  return { server, host: `127.0.0.1:${port}` }
}
