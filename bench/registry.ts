import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
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
