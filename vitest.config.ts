import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { defineConfig } from 'vitest/config'

/**
 * The suites that run a second time on an S3 blob store (moto) with PostgreSQL metadata, through
 * one switch (`TROVE_TEST_BLOBSTORE=s3`, read by test/helpers/blobstore.ts): every format's
 * real-client tests, the chunked OCI uploads and the kill -9 crash test.
 */
const S3_SUITES = [
  'test/e2e/generic-artifacts.test.ts',
  'src/formats/oci/blobs.test.ts',
  'test/conformance/oci/skopeo.test.ts',
  'test/conformance/oci/podman.test.ts',
  'test/conformance/npm/npm-cli.test.ts',
  'test/conformance/npm/clients.test.ts',
  'test/conformance/pypi/local.test.ts',
  'test/conformance/maven/mvn.test.ts',
  'test/e2e/helm-local.test.ts',
  'test/conformance/helm/oci-chart.test.ts',
  'test/e2e/go-local.test.ts',
  'test/conformance/cargo/cargo-local.test.ts',
  'test/e2e/composer-local.test.ts',
  'test/e2e/rubygems-local.test.ts',
  'test/e2e/crash.test.ts',
  'test/e2e/storage-info.test.ts',
]

/** Without moto the s3 project cannot run: by hand it is left out with a message; under CI=true it runs and fails. */
const hasMoto = (process.env.PATH ?? '').split(delimiter).some((dir) => {
  try {
    accessSync(join(dir, 'moto_server'), constants.X_OK)
    return true
  } catch {
    return false
  }
})
if (!hasMoto && process.env.CI !== 'true') console.warn('SKIPPING the s3 test project: moto_server is not installed (pip install "moto[server]")')

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only make the network and process tests fight for CPU.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'default', include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/src/**/*.test.ts'] } },
      ...(hasMoto || process.env.CI === 'true'
        ? [
            {
              extends: true as const,
              test: {
                name: 's3',
                include: S3_SUITES,
                env: { TROVE_TEST_BLOBSTORE: 's3' },
                globalSetup: ['test/helpers/moto-global-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
})
