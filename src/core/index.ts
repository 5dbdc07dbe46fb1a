/**
 * What a format may use of the core: its services (as {@link FormatContext} hands them over), their
 * types, and the shared rules (errors, digests, paths, JSON, streams, scanning helpers). Formats
 * import the core only through this file (src/formats/boundary.test.ts checks it); the raw
 * database handle and the storage driver are not here.
 */
export type { ConfigSection, EnvVariable } from '../config/sections.js'
export { configSection } from '../config/sections.js'
export type { ChangeTransaction, FormatContext, FormatServices, FormatTables } from './format-context.js'

export { TroveError, conflict, isTroveError, notFound, type ErrorCode } from './errors.js'
export type { ExpectedChecksums } from './digest.js'
export { parseJson } from './json.js'
export { assertRepositoryKey, nameOf, parentOf, parseRepositoryPath } from './paths.js'
export { readLimited } from './streams.js'

export type { ArtifactService, Asset, Properties, StoredAsset } from './artifacts/artifact-service.js'
export { PACKAGE_TEXT_LIMIT, fileTotals, isoTime, packageFile, type PackageFiles } from './artifacts/package-files.js'
export type { GeneratedFile, PlainDeploy, PlainDeployOutcome, PlainLayout, PlainReadContext, RemoteSource } from './artifacts/plain-layout.js'
export type { BlobInfo, BlobStore } from './blobs/blob-store.js'
export type { Repository, RepositoryClass, RepositoryService } from './repositories/repository-service.js'
export type { RepositorySetting } from './repositories/repository-settings.js'

export type { Authorizer } from './auth/authorizer.js'
export { principalName, type Action, type Principal } from './auth/principal.js'
export type { RegistryAccess, RegistryTokenService } from './auth/registry-tokens.js'
export { LOGIN_BOUND, describeScope, mintingBoundOf } from './auth/token-minting.js'

export { servedFrom, type ServedFile } from './remote/downloads.js'
export { PlainResolver, type Resolution } from './remote/plain-resolver.js'
export { REMOTE_DEFAULTS, RemoteEngine, type RemoteResult } from './remote/remote-engine.js'
export type { GuardScope, MemberRequest, ResolutionCaller, ResolutionEngine } from './remote/resolution.js'
export { discard, readSmall, type UpstreamClient } from './upstream/upstream-client.js'

export { DEFAULT_EXTRACTION_LIMITS, ScanFailure, type Component, type ExtractionLimits } from './scanning/components.js'
export { cvssV3BaseScore } from './scanning/cvss.js'
export { purlVersion, type Ecosystem } from './scanning/ecosystem.js'
export type { ExtractionContext, Extractor, InstalledPackageReader, RepositoryFiles } from './scanning/extractor.js'
export { MAX_NESTING_DEPTH, MAX_SMALL_FILE_BYTES, MAX_SPOOLED_BYTES, UnpackBudget, readCapped, spoolCapped } from './scanning/extractors/archive-limits.js'
export { walkTar } from './scanning/extractors/tar-walk.js'
export { walkZip } from './scanning/extractors/zip-walk.js'
export type { FormatScanning } from './scanning/format-scanning.js'
export { compareApk, compareDpkg, compareRpm, compareSemver } from './scanning/versions/index.js'
export type { OsvRecord } from './scanning/vulndb.js'
export type { ChunkInfo, UploadService, UploadSession } from './uploads/upload-service.js'
export { BytesCache } from './bytes-cache.js'
export { twoLevelVersions, type PackageVersion, type PackageVersions, type RepositoryFile } from './lifecycle/policies-versions.js'
export { DocumentCache, type ContentCoding, type DocumentSource, type RenderedDocument } from './metadata-cache/document-cache.js'
