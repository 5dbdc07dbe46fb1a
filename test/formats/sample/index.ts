import { z } from 'zod'
import { TOKEN_PLACEHOLDER, type SetupContext, type Snippet } from '../../../src/api/formats.js'
import type { Format } from '../../../src/formats/format.js'
import { sampleConfig } from './config.js'
import { sampleMigrations } from './migrations.js'
import { SAMPLE_PREFIX, sampleRoutes } from './routes.js'
import { sampleScanning } from './scanning.js'

/**
 * A test-only package type, `sample`: everything a format declares, in one folder, to show that
 * the core, the HTTP layer and the console take a format from its declaration alone. Served by a
 * test server with `startTestServer({ extraFormats: [sampleFormat] })` (see
 * test/e2e/sample-format.test.ts and docs/writing-a-format.md).
 */
export const sampleFormat: Format = {
  id: 'sample',
  title: 'Sample',
  kinds: ['local'],
  migrations: sampleMigrations,
  config: sampleConfig,
  scanning: sampleScanning,
  settings: [
    {
      name: 'sampleChannel',
      label: 'Channel',
      help: 'Which channel the packages of this repository are published to.',
      kinds: ['local'],
      type: 'enum',
      values: ['stable', 'beta'],
      default: 'stable',
      schema: z.enum(['stable', 'beta'], { error: 'must be stable or beta' }),
    },
  ],
  console: { packageNoun: 'sample package', browseHints: ['A package is a folder, with a folder per version.'] },
  setMeUp: (context: SetupContext): Snippet[] => [
    {
      id: 'curl-upload',
      title: 'Upload a package',
      description: 'Uploads hello-1.0.0.sample with curl.',
      text: `curl -u ${context.user}:${context.token ?? TOKEN_PLACEHOLDER} -T hello-1.0.0.sample ${context.baseUrl.replace(/\/+$/, '')}${SAMPLE_PREFIX}/${context.key}/hello/1.0.0`,
    },
  ],
  register: async (app, services) => {
    await app.register(async (scope) => sampleRoutes(scope, services), { prefix: SAMPLE_PREFIX })
  },
}
