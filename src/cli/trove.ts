#!/usr/bin/env node
import { Command } from 'commander'
import { ConfigError, loadConfig } from '../config/config.js'
import { createTrove } from '../main.js'
import { importVulnerabilities } from '../core/scanning/import-command.js'
import { ScanningRegistry } from '../core/scanning/scanning-registry.js'
import { FORMATS } from '../formats/index.js'
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
      config = loadConfig({ file: options.config })
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`trove: ${err.message}\n`)
        process.exit(2)
      }
      throw err
    }
    const trove = await createTrove(config)
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
    const summary = await importVulnerabilities(loadConfig({ file: options.config }), path, new ScanningRegistry(FORMATS))
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  })

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`trove: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
