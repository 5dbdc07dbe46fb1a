import type { Readable } from 'node:stream'
import type { Repository } from '../repositories/repository-service.js'
import type { Component, ExtractionLimits } from './components.js'

/**
 * Reads the components of one kind of artifact (an npm tarball, an image manifest, a jar). A
 * format declares the extractors of its own artifacts (`FormatScanning.extractors`); the scanner
 * asks every declared extractor about every stored file, whatever the repository's type (wheels
 * and jars in a generic repository are scanned too), and the first that accepts it reads it.
 */
export interface Extractor {
  /**
   * The extractor's id, unique among all formats' extractors: stored with each scan result and
   * queued scan job, so an id once used never changes (`npm`, `oci`, `pypi-wheel`, `maven-pom`).
   */
  readonly format: string
  /** Whether a file at `path` of `repository` is this extractor's to read. Pure and quick: asked of every stored file. */
  accepts(repository: Repository, path: string): boolean
  /**
   * The components of the file's bytes. A limit or a malformed archive throws `ScanFailure` (the
   * scan is recorded as failed with its message); any other error is retried by the scan job.
   * `context` gives the repository's other blobs (an image's layers) and a scratch folder the
   * scanner removes afterwards.
   */
  extract(source: Readable, limits: ExtractionLimits, context: ExtractionContext): Promise<Component[]>
  /**
   * For reports asked by a path that is no stored file: the stored file it names in the forms
   * people write (an image's `<name>:<tag>` → its manifest file), or undefined.
   */
  resolveReportPath?(repository: Repository, path: string, files: RepositoryFiles): Promise<string | undefined>
}

/**
 * Reads packages installed in a file system (an image's layers): a format declares the files its
 * packages leave there (`node_modules/<name>/package.json`, `*.dist-info/METADATA`, jars), and an
 * extractor walking a file system asks each declared reader about each regular file.
 */
export interface InstalledPackageReader {
  /** Whether the file at `path` (from the file system's root, no leading `/`) is this reader's. */
  accepts(path: string): boolean
  /**
   * The packages one such file says are installed. `file.where` names it in locations and messages
   * (`layer 2 (sha256:…): usr/lib/x.jar`); `file.size` is its size as the archive declares it. The
   * reader reads `source` to its end (or resumes it to skip it) or throws; a `ScanFailure` ends the
   * scan, so a reader skips what it cannot read when that is not the image's fault.
   */
  read(source: Readable, file: { readonly path: string; readonly where: string; readonly size: number }, limits: ExtractionLimits, context: ExtractionContext): Promise<Component[]>
}

/**
 * What an extractor may use besides the bytes it is given: other blobs of the artifact's repository
 * (an image's layers), a scratch folder of its own (removed by the scanner after the scan) for what
 * must be read whole (a zip's directory is at its end, SQLite needs a file), every format's readers
 * of installed packages, and a way to say what it left unread.
 */
export interface ExtractionContext {
  readonly linked: LinkedBlobs
  readonly scratchDir: string
  /** Every format's readers of installed packages, in the formats' order. */
  readonly installed: readonly InstalledPackageReader[]
  /** Records a part of the artifact that was not read, and why (`layer 2 (sha256:…)`, a foreign layer). */
  skip(location: string, reason: string): void
}

/**
 * The blobs of the repository that holds the scanned artifact: a scan reads nothing else, so what
 * a manifest names but its repository does not hold (another project's layer) is never read, and
 * whether such bytes exist anywhere else changes nothing.
 */
export interface LinkedBlobs {
  /** Whether the repository holds the blob (some file of it has these bytes). */
  holds(sha256: string): Promise<boolean>
  /**
   * The bytes of a blob the repository holds. One it does not hold fails the scan (`ScanFailure`
   * naming `what`), except in a remote repository, which caches blobs as clients pull them: there
   * a plain error makes the job try again later.
   */
  open(sha256: string, what: string): Promise<Readable>
}

/** Read-only lookups of one repository's stored file paths, for {@link Extractor.resolveReportPath}. */
export interface RepositoryFiles {
  /** The paths among `paths` that are stored files. */
  existing(paths: readonly string[]): Promise<string[]>
  /** The paths of stored files under the folder `folder` (any depth) whose bytes have this sha256 (hex). */
  withContent(sha256: string, folder: string): Promise<string[]>
}
