import { randomUUID } from 'node:crypto'
import { close, constants, createWriteStream, open as openCallback, write, writev, type WriteStream } from 'node:fs'
import { link, mkdir, open, readdir, rm, stat, truncate, unlink } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FileHandle } from 'node:fs/promises'
import {
  PathNotFoundError,
  StorageFullError,
  TEMPORARY_PREFIX,
  assertNotTemporary,
  assertStorageKey,
  assertTemporaryId,
  type AppendState,
  type ByteRange,
  type Sender,
  type StorageDriver,
  type StorageStat,
  type StorageWriter,
  type TemporaryObject,
} from '../storage-driver.js'

const TEMP_DIR = TEMPORARY_PREFIX
/** Size of the chunks blob reads are streamed in (see read()). */
const READ_CHUNK_BYTES = 64 * 1024
/**
 * Size of the reused buffers of the download fast path (see sendWithBufferPool): a read and a
 * socket write per MiB instead of per 64 KiB. They are reused, so their size makes no garbage.
 */
const SEND_CHUNK_BYTES = 1024 * 1024
/** What a full store looks like from here: no space on the filesystem, or the user's quota on it spent. */
const FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT'])

/**
 * The file system functions of the writers' streams (Node's `fs` option of createWriteStream):
 * Node's own, except that a write failing for want of room fails as {@link StorageFullError}.
 */
const WRITER_FS = {
  open: openCallback,
  close,
  write: (fd: number, buffer: Buffer, offset: number, length: number, position: number | null | undefined, callback: WriteCallback<Buffer>) =>
    write(fd, buffer, offset, length, position, (err, written, data) => callback(whenFull(err), written, data)),
  writev: (fd: number, buffers: Buffer[], position: number | null | undefined, callback: WriteCallback<Buffer[]>) =>
    writev(fd, buffers, position ?? null, (err, written, data) => callback(whenFull(err), written, data)),
}

type WriteCallback<T> = (err: Error | null, written: number, data: T) => void

/**
 * Stores each key as a file under `root`. Writes go to `root/_uploads/<uuid>`, are fsynced, then
 * hard-linked (or renamed) into place, so a crash leaves either the whole object or none of it.
 */
export class FilesystemStorageDriver implements StorageDriver {
  readonly name = 'filesystem'

  private readonly root: string

  constructor(root: string) {
    // list() derives keys by slicing `root` off joined (normalised) paths, so `root` must be normalised too.
    this.root = resolve(root)
  }

  async createWriter(id: string = randomUUID()): Promise<StorageWriter> {
    assertTemporaryId(id)
    const tempDir = join(this.root, TEMP_DIR)
    const tempPath = join(tempDir, id)
    try {
      await mkdir(tempDir, { recursive: true })
      const stream = createWriteStream(tempPath, { flags: 'wx', fs: WRITER_FS })
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve())
        stream.once('error', reject)
      })
      return new FilesystemWriter(this.root, tempPath, stream)
    } catch (err) {
      throw whenFull(err)
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const { handle } = await this.openFile(key)
    // 64 KiB chunks (Node's default), not larger. Every chunk is a fresh Buffer; with many concurrent
    // downloads some live long enough to be promoted, and then only a mark-compact frees them, which V8
    // runs about once per 64 MiB of such memory. With 256 KiB chunks these GC storms (up to 175
    // mark-compacts per 8.5 GiB served) came in every 16-stream bench run measured; 64 KiB makes them rarer.
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: READ_CHUNK_BYTES })
  }

  async openSender(key: string, range?: ByteRange): Promise<Sender> {
    const { handle, size } = await this.openFile(key)
    const start = range?.start ?? 0
    const end = Math.min(range?.end ?? size - 1, size - 1) + 1
    return async (destination) => {
      try {
        await sendWithBufferPool(handle, start, end, destination)
      } finally {
        await handle.close().catch(() => {})
      }
    }
  }

  async stat(key: string): Promise<StorageStat | undefined> {
    try {
      const s = await stat(this.pathOf(key))
      return s.isFile() ? { size: s.size, modifiedAt: s.mtime } : undefined
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key))
    } catch (err) {
      // EISDIR: the key is only a prefix of other keys, so there is no object to delete.
      if (!isNotFound(err) && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : ''
    const start = join(this.root, base)
    for await (const file of walk(start)) {
      const key = file.slice(this.root.length + 1).split(sep).join('/')
      if (key.startsWith(`${TEMP_DIR}/`)) continue
      if (key.startsWith(prefix)) yield key
    }
  }

  async *listTemporary(): AsyncIterable<TemporaryObject> {
    const dir = join(this.root, TEMP_DIR)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (err) {
      if (isNotFound(err)) return
      throw err
    }
    for (const name of names) {
      try {
        yield { id: name, modifiedAt: (await stat(join(dir, name))).mtime }
      } catch (err) {
        // Committed or aborted since readdir: no longer temporary.
        if (!isNotFound(err)) throw err
      }
    }
  }

  async deleteTemporary(id: string): Promise<void> {
    assertTemporaryId(id)
    await rm(join(this.root, TEMP_DIR, id), { force: true })
  }

  /** One temporary file per appendable object: each append truncates it to `offset` (dropping what a failed one left) and writes from there. */
  async append(id: string, _state: AppendState | undefined, offset: number, source: Readable): Promise<AppendState> {
    assertTemporaryId(id)
    const tempDir = join(this.root, TEMP_DIR)
    try {
      await mkdir(tempDir, { recursive: true })
      const tempPath = join(tempDir, id)
      const handle = await open(tempPath, constants.O_RDWR | constants.O_CREAT)
      try {
        const { size } = await handle.stat()
        if (size < offset) throw new Error(`appendable object ${id} holds ${size} bytes, fewer than the ${offset} appended`)
        await handle.truncate(offset)
      } finally {
        await handle.close()
      }
      try {
        await pipeline(source, createWriteStream(tempPath, { flags: 'r+', start: offset, fs: WRITER_FS }))
      } catch (err) {
        // What the failed chunk wrote is given back at once (a full disk most of all): the object
        // keeps only the bytes the session has recorded.
        await truncate(tempPath, offset).catch(() => {})
        throw err
      }
      const written = await open(tempPath, 'r+')
      try {
        await written.sync()
      } finally {
        await written.close()
      }
    } catch (err) {
      throw whenFull(err)
    }
    return ''
  }

  async readAppended(id: string, _state: AppendState | undefined, size: number): Promise<Readable> {
    assertTemporaryId(id)
    const handle = await open(join(this.root, TEMP_DIR, id), 'r')
    if (size === 0) {
      await handle.close()
      return Readable.from([])
    }
    return handle.createReadStream({ start: 0, end: size - 1, highWaterMark: SEND_CHUNK_BYTES })
  }

  async commitAppended(id: string, _state: AppendState | undefined, size: number, key: string): Promise<void> {
    assertTemporaryId(id)
    const tempPath = join(this.root, TEMP_DIR, id)
    const target = this.pathOf(key)
    try {
      const handle = await open(tempPath, size === 0 ? constants.O_RDWR | constants.O_CREAT : 'r+')
      try {
        const stored = (await handle.stat()).size
        if (stored < size) throw new Error(`appendable object ${id} holds ${stored} bytes, fewer than the ${size} to commit`)
        await handle.truncate(size)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await mkdir(dirname(target), { recursive: true })
      await linkUnlessExists(tempPath, target)
    } catch (err) {
      throw whenFull(err)
    }
    await rm(tempPath, { force: true })
    await syncDirectory(dirname(target))
  }

  async checkHealth(): Promise<void> {
    const writer = await this.createWriter()
    await writer.abort()
  }

  localPath(key: string): string {
    return this.pathOf(key)
  }

  /** Opens an object's file, with its size; missing (or a directory: a key that only prefixes others) is PathNotFoundError. */
  private async openFile(key: string): Promise<{ handle: FileHandle; size: number }> {
    let handle: FileHandle
    try {
      handle = await open(this.pathOf(key), 'r')
    } catch (err) {
      if (isNotFound(err)) throw new PathNotFoundError(key)
      throw err
    }
    const stats = await handle.stat().catch(async (err: unknown) => {
      await handle.close()
      throw err
    })
    if (!stats.isFile()) {
      await handle.close()
      throw new PathNotFoundError(key)
    }
    return { handle, size: stats.size }
  }

  private pathOf(key: string): string {
    assertStorageKey(key)
    assertNotTemporary(key)
    return join(this.root, ...key.split('/'))
  }
}

class FilesystemWriter implements StorageWriter {
  private isDone = false

  constructor(
    private readonly root: string,
    private readonly tempPath: string,
    readonly stream: WriteStream,
  ) {}

  async commit(key: string): Promise<void> {
    assertStorageKey(key)
    assertNotTemporary(key)
    if (this.isDone) throw new Error('writer already committed or aborted')
    this.isDone = true
    const target = join(this.root, ...key.split('/'))
    try {
      await closeStream(this.stream)
      const handle = await open(this.tempPath, 'r+')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
      await mkdir(dirname(target), { recursive: true })
      await linkUnlessExists(this.tempPath, target)
    } catch (err) {
      throw whenFull(err)
    } finally {
      // Committed or failed, the temporary name goes: the data lives on under `target` or nowhere.
      await rm(this.tempPath, { force: true })
    }
    await syncDirectory(dirname(target))
  }

  async abort(): Promise<void> {
    if (this.isDone) return
    this.isDone = true
    this.stream.destroy()
    await rm(this.tempPath, { force: true })
  }
}

/**
 * Links the temporary file into place. link() fails if the target exists, so an existing object is
 * never replaced mid-read; its content is the same (content-addressed keys), so that is success.
 */
async function linkUnlessExists(tempPath: string, target: string): Promise<void> {
  try {
    await link(tempPath, target)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}

/** Two: one is read into while the other is written to the socket. */
const SEND_BUFFERS = 2

/**
 * Copies bytes [start, end) of a file to `destination` through {@link SEND_BUFFERS} reused
 * buffers: a buffer is read into again only after the destination's write callback says it was
 * flushed, so at most SEND_BUFFERS chunks are in flight and no per-chunk garbage is made.
 */
async function sendWithBufferPool(handle: FileHandle, start: number, end: number, destination: Writable): Promise<void> {
  const free: Buffer[] = Array.from({ length: SEND_BUFFERS }, () => Buffer.allocUnsafe(Math.min(SEND_CHUNK_BYTES, Math.max(end - start, 1))))
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const signal = () => {
    const resume = wake
    wake = undefined
    resume?.()
  }
  const onClose = () => {
    failure ??= new Error('the destination closed before the whole file was sent')
    signal()
  }
  const onError = (err: Error) => {
    failure ??= err
    signal()
  }
  destination.once('close', onClose)
  destination.once('error', onError)
  const waitForBuffer = () => new Promise<void>((resolve) => (wake = resolve))
  try {
    for (let position = start; position < end; ) {
      while (free.length === 0 && !failure) await waitForBuffer()
      if (failure) throw failure
      const buffer = free.pop()!
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position)
      if (bytesRead === 0) throw new Error(`file ended at byte ${position}, before byte ${end}`)
      position += bytesRead
      destination.write(buffer.subarray(0, bytesRead), (err) => {
        if (err) failure ??= err
        free.push(buffer)
        signal()
      })
    }
    while (free.length < SEND_BUFFERS && !failure) await waitForBuffer()
    if (failure) throw failure
  } finally {
    destination.off('close', onClose)
    destination.off('error', onError)
  }
}

function closeStream(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve()
  return new Promise((resolve, reject) => {
    stream.once('close', () => resolve())
    stream.once('error', reject)
    if (!stream.writableEnded) stream.end()
  })
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  } finally {
    await handle.close()
  }
}

async function* walk(dir: string): AsyncIterable<string> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    if (isNotFound(err)) return
    throw err
  }
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(path)
    else if (entry.isFile()) yield path
  }
}

/** A file system error that means the store is full, as {@link StorageFullError}; any other as it is. */
function whenFull<E>(err: E): E | StorageFullError {
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code
  if (code === undefined || !FULL_CODES.has(code)) return err
  return new StorageFullError(`the blob store's file system has no room left (${code})`, { cause: err })
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}
