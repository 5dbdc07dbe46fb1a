#!/usr/bin/env node
import { Command } from 'commander'
import { ConfigError, loadConfig } from '../config/config.js'
import { pino } from 'pino'
import { ClusterConfigError, createTrove, prepareTrove } from '../main.js'
import { importVulnerabilities } from '../core/scanning/import-command.js'
import { ScanningRegistry } from '../core/scanning/scanning-registry.js'
import { configSections } from '../formats/format.js'
import { FORMATS } from '../formats/index.js'
import { migrateStorage } from './storage-migrate.js'
import { CONFIG_EXIT_CODE, runPrimary, workerRole } from './workers.js'
import { VERSION } from '../version.js'

const program = new Command()
  .name('trove')
  .description('Trove, the open artifact repository manager')
  .version(VERSION)

program
  .command('serve')
  .description('start the server')
  .option('-c, --config <file>', 'YAML configuration file (default: $TROVE_CONFIG)')
  .action(async (options: { config?: string }) => {
    let config
    try {
      config = loadConfig({ file: options.config, sections: configSections(FORMATS) })
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`trove: ${err.message}\n`)
        process.exit(2)
      }
      throw err
    }
    const role = workerRole()
    let trove
    try {
      if (role === undefined && config.workers > 1) {
        // The primary: prepares the stores once, then starts and watches the workers.
        const logger = pino({ level: config.log.level })
        await prepareTrove(config, { logger })
        process.exit(await runPrimary(config, logger))
      }
      trove = await createTrove(config, { process: role })
    } catch (err) {
      if (err instanceof ClusterConfigError) {
        process.stderr.write(`trove: ${err.message}\n`)
        process.exit(CONFIG_EXIT_CODE)
      }
      throw err
    }
    let isClosing = false
    const shutdown = (signal: string) => {
      if (isClosing) return
      isClosing = true
      trove.logger.info({ signal }, 'shutting down')
      trove.close().then(
        () => process.exit(0),
        (err: unknown) => {
          trove.logger.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    process.on('SIGTERM', () => shutdown('SIGTERM'))
    process.on('SIGINT', () => shutdown('SIGINT'))
    await trove.listen()
  })

program
  .command('vulndb')
  .description('the vulnerability database')
  .command('import <path>')
  .description('import OSV records from a .json file, a .zip archive or a folder of them')
  .option('-c, --config <file>', 'YAML configuration file (default: $TROVE_CONFIG)')
  .action(async (path: string, options: { config?: string }) => {
    const summary = await importVulnerabilities(loadConfig({ file: options.config, sections: configSections(FORMATS) }), path, new ScanningRegistry(FORMATS))
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  })

program
  .command('storage')
  .description('the blob store')
  .command('migrate')
  .description('copy every blob to another blob store (e.g. s3://bucket/prefix), verified by digest; run again to resume or catch up')
  .requiredOption('--to <url>', 'the blob store to copy to: a folder, file://… or s3://bucket/prefix (S3 settings from blobstore.s3)')
  .option('--from <url>', 'the blob store to copy from (default: the configured one)')
  .option('--concurrency <n>', 'blobs copied at once', (value) => Number.parseInt(value, 10), 4)
  .option('--verify-existing', 'hash the blobs the target has already, not only compare sizes')
  .option('-c, --config <file>', 'YAML configuration file (default: $TROVE_CONFIG)')
  .action(async (options: { to: string; from?: string; concurrency: number; verifyExisting?: boolean; config?: string }) => {
    if (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1) throw new Error('--concurrency must be a whole number from 1')
    const result = await migrateStorage(
      loadConfig({ file: options.config, sections: configSections(FORMATS) }),
      { to: options.to, from: options.from, concurrency: options.concurrency, verifyExisting: options.verifyExisting === true },
      (line) => process.stderr.write(`${line}\n`),
    )
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    if (result.failed > 0) process.exitCode = 1
  })

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`trove: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
