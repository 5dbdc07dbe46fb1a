import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseBlobstoreUrl } from './config.js'

describe('loadConfig', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trove-config-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function yamlFile(text: string): Promise<string> {
    const file = join(dir, 'trove.yaml')
    await writeFile(file, text)
    return file
  }

  /** The ConfigError that `load` throws; fails the test when it throws nothing or something else. */
  function configError(load: () => unknown): ConfigError {
    try {
      load()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      return err as ConfigError
    }
    throw new Error('expected a ConfigError, got none')
  }

  it('has the documented defaults: port 8081 on 0.0.0.0, ./data resolved, SQLite file and blobs in it', () => {
    const config = loadConfig({ env: {} })
    expect(config.port).toBe(8081)
    expect(config.host).toBe('0.0.0.0')
    expect(config.dataDir).toBe(resolve('./data'))
    expect(config.databaseUrl).toBe(join(resolve('./data'), 'trove.db'))
    expect(config.blobstoreUrl).toBe(resolve('./data'))
    expect(config.baseUrl).toBeUndefined()
    expect(config.adminPassword).toBeUndefined()
    expect(config.log.level).toBe('info')
    expect(config.http).toEqual({
      headersTimeoutSecs: 30,
      idleTimeoutSecs: 120,
      keepAliveTimeoutSecs: 30,
      requestTimeoutSecs: 0,
      jsonBodyLimitBytes: 1024 * 1024,
      trustedProxies: [],
    })
    expect(config.warnings).toEqual([])
  })

  it('resolves a relative data folder and puts the SQLite file and blobs in it', () => {
    const config = loadConfig({ env: { TROVE_DATA_DIR: 'some/where' } })
    expect(config.dataDir).toBe(resolve('some/where'))
    expect(config.databaseUrl).toBe(join(resolve('some/where'), 'trove.db'))
    expect(config.blobstoreLocation).toEqual({ kind: 'filesystem', root: resolve('some/where') })
  })

  it('reads a YAML file given by the file option', async () => {
    const file = await yamlFile(
      [
        'port: 9000',
        'host: 127.0.0.1',
        `dataDir: ${dir}/data`,
        'baseUrl: https://trove.example.test/',
        'database:',
        '  url: postgres://u@127.0.0.1:5432/trove',
        'http:',
        '  headersTimeoutSecs: 5',
        'log:',
        '  level: warn',
      ].join('\n'),
    )
    const config = loadConfig({ file, env: {} })
    expect(config.port).toBe(9000)
    expect(config.host).toBe('127.0.0.1')
    expect(config.dataDir).toBe(join(dir, 'data'))
    expect(config.baseUrl).toBe('https://trove.example.test/')
    expect(config.databaseUrl).toBe('postgres://u@127.0.0.1:5432/trove')
    expect(config.blobstoreUrl).toBe(join(dir, 'data'))
    expect(config.log.level).toBe('warn')
    // Settings of a section not given keep their defaults.
    expect(config.http.headersTimeoutSecs).toBe(5)
    expect(config.http.idleTimeoutSecs).toBe(120)
  })

  it('reads the YAML file named by TROVE_CONFIG when no file option is given', async () => {
    const file = await yamlFile('port: 9100\n')
    expect(loadConfig({ env: { TROVE_CONFIG: file } }).port).toBe(9100)
  })

  it('treats an empty YAML file as no settings', async () => {
    const file = await yamlFile('')
    expect(loadConfig({ file, env: {} }).port).toBe(8081)
  })

  it('lets environment variables override the YAML file, and overrides override both', async () => {
    const file = await yamlFile('port: 9000\nhost: 10.0.0.1\nhttp:\n  idleTimeoutSecs: 10\n  headersTimeoutSecs: 7\n')
    const env = { TROVE_PORT: '9001', TROVE_HTTP_IDLE_TIMEOUT_SECS: '11', TROVE_DATABASE_URL: 'postgres://127.0.0.1/x' }

    const fromEnv = loadConfig({ file, env })
    expect(fromEnv.port).toBe(9001)
    expect(fromEnv.host).toBe('10.0.0.1')
    expect(fromEnv.http.idleTimeoutSecs).toBe(11)
    expect(fromEnv.http.headersTimeoutSecs).toBe(7) // a sibling set by YAML survives the env override
    expect(fromEnv.databaseUrl).toBe('postgres://127.0.0.1/x')

    const overridden = loadConfig({ file, env, overrides: { port: 9002, host: '127.0.0.1' } })
    expect(overridden.port).toBe(9002)
    expect(overridden.host).toBe('127.0.0.1')
    expect(overridden.http.idleTimeoutSecs).toBe(11)
  })

  it('refuses TROVE_PORT=abc naming the variable', () => {
    const err = configError(() => loadConfig({ env: { TROVE_PORT: 'abc' } }))
    expect(err.message).toContain('TROVE_PORT')
    expect(err.message).toContain('abc')
  })

  it('refuses a port out of range', () => {
    const err = configError(() => loadConfig({ env: { TROVE_PORT: '70000' } }))
    expect(err.message).toMatch(/port/)
  })

  it('refuses an unknown YAML key, listing it', async () => {
    const file = await yamlFile('port: 9000\nprot: 9001\nhttp:\n  headerTimeoutSecs: 3\n')
    const err = configError(() => loadConfig({ file, env: {} }))
    expect(err.message).toContain('prot')
    expect(err.message).toContain('headerTimeoutSecs')
    expect(err.message).toContain(file)
  })

  it('refuses a YAML file that is not a mapping, and one that is not YAML', async () => {
    const list = await yamlFile('- a\n- b\n')
    expect(configError(() => loadConfig({ file: list, env: {} })).message).toMatch(/mapping/)
    const broken = await yamlFile('port: [1, 2\n')
    expect(configError(() => loadConfig({ file: broken, env: {} })).message).toMatch(/not valid YAML/)
  })

  it('refuses a missing configuration file naming it', () => {
    const missing = join(dir, 'nope.yaml')
    expect(configError(() => loadConfig({ file: missing, env: {} })).message).toContain(missing)
  })

  it('refuses a bad baseUrl', () => {
    const notUrl = configError(() => loadConfig({ env: { TROVE_BASE_URL: 'not a url' } }))
    expect(notUrl.message).toContain('baseUrl')
    const ftp = configError(() => loadConfig({ env: { TROVE_BASE_URL: 'ftp://trove.example.test' } }))
    expect(ftp.message).toContain('baseUrl')
  })

  it('refuses a short admin password and a bad log level', () => {
    const err = configError(() => loadConfig({ env: { TROVE_ADMIN_PASSWORD: 'short', TROVE_LOG_LEVEL: 'loud' } }))
    expect(err.message).toContain('adminPassword')
    expect(err.message).toContain('log.level')
  })

  it('only warns about an unknown TROVE_* variable', () => {
    const config = loadConfig({ env: { TROVE_FOO: 'bar', TROVE_CONFIG: '', OTHER_VAR: 'x' } })
    expect(config.warnings).toEqual([expect.stringContaining('TROVE_FOO')])
  })

  it('lists every problem at once', async () => {
    const file = await yamlFile('colour: blue\n')
    const err = configError(() =>
      loadConfig({ file, env: { TROVE_PORT: 'abc', TROVE_HTTP_IDLE_TIMEOUT_SECS: '-1', TROVE_BASE_URL: 'nope' } }),
    )
    expect(err.message).toContain('TROVE_PORT')
    expect(err.message).toContain('TROVE_HTTP_IDLE_TIMEOUT_SECS')
    expect(err.message).toContain('colour')
    expect(err.message).toContain('baseUrl')
    // One problem a line.
    expect(err.message.split('\n').filter((l) => l.trim().startsWith('- '))).toHaveLength(4)
  })

  it('maps a blobstore URL to a folder or a bucket and prefix, and refuses other schemes', () => {
    expect(parseBlobstoreUrl('file:///var/lib/trove')).toEqual({ kind: 'filesystem', root: '/var/lib/trove' })
    expect(parseBlobstoreUrl('/srv/blobs')).toEqual({ kind: 'filesystem', root: '/srv/blobs' })
    expect(parseBlobstoreUrl('blobs')).toEqual({ kind: 'filesystem', root: resolve('blobs') })
    expect(parseBlobstoreUrl('s3://trove-blobs')).toEqual({ kind: 's3', bucket: 'trove-blobs', prefix: '' })
    expect(parseBlobstoreUrl('s3://trove-blobs/')).toEqual({ kind: 's3', bucket: 'trove-blobs', prefix: '' })
    expect(parseBlobstoreUrl('s3://trove-blobs/prod/eu-1/')).toEqual({ kind: 's3', bucket: 'trove-blobs', prefix: 'prod/eu-1' })
    expect(() => parseBlobstoreUrl('gs://bucket')).toThrow(/unsupported scheme/)
    expect(() => parseBlobstoreUrl('s3://Bad_Bucket')).toThrow(/not a valid S3 bucket name/)
    expect(() => parseBlobstoreUrl('s3://ok-bucket/a/../b')).toThrow(/prefix segment "\.\."/)
    expect(() => parseBlobstoreUrl('s3://ok-bucket/a b')).toThrow(ConfigError)
  })

  it('reads the S3 settings from TROVE_BLOBSTORE_* variables and refuses credentials in the file', async () => {
    const config = loadConfig({
      env: {
        TROVE_BLOBSTORE_URL: 's3://trove-blobs/prod',
        TROVE_BLOBSTORE_S3_ENDPOINT: 'http://minio.internal:9000',
        TROVE_BLOBSTORE_S3_FORCE_PATH_STYLE: 'true',
        TROVE_BLOBSTORE_S3_PART_SIZE_BYTES: String(16 * 1024 * 1024),
        TROVE_BLOBSTORE_REDIRECT_DOWNLOADS: 'yes',
        TROVE_BLOBSTORE_CACHE_DIR: '/var/cache/trove',
      },
    })
    expect(config.blobstoreLocation).toEqual({ kind: 's3', bucket: 'trove-blobs', prefix: 'prod' })
    expect(config.blobstore).toMatchObject({
      redirectDownloads: true,
      s3: { endpoint: 'http://minio.internal:9000', forcePathStyle: true, partSizeBytes: 16 * 1024 * 1024, maxConcurrentParts: 2 },
      cache: { dir: '/var/cache/trove', maxBytes: 10 * 1024 ** 3 },
    })

    expect(() => loadConfig({ env: { TROVE_BLOBSTORE_S3_FORCE_PATH_STYLE: 'maybe' } })).toThrow(/TROVE_BLOBSTORE_S3_FORCE_PATH_STYLE: expected true or false/)
    expect(() => loadConfig({ env: { TROVE_BLOBSTORE_S3_PART_SIZE_BYTES: '1024' } })).toThrow(/at least 5 MiB/)
    const file = await yamlFile(['blobstore:', '  url: s3://trove-blobs', '  s3:', '    accessKeyId: AKIA0000', '    secretAccessKey: nope'].join('\n'))
    expect(() => loadConfig({ file, env: {} })).toThrow(/blobstore\.s3.*accessKeyId/s)
  })

  it('warns that download redirects need an S3 blob store', () => {
    expect(loadConfig({ env: { TROVE_BLOBSTORE_REDIRECT_DOWNLOADS: 'true' } }).warnings).toEqual([
      'blobstore.redirectDownloads is on but only an s3:// blob store can redirect downloads; they are streamed',
    ])
  })
})
