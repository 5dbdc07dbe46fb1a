import { z } from 'zod'

const seconds = z.number().int().nonnegative()

/** The trash can (Artifactory's `trashcanConfig`): files deleted from local repositories are kept this long (docs/lifecycle.md). */
export const trashcanSection = z
  .object({
    enabled: z.boolean().default(true),
    /** Days a deleted file stays restorable; garbage collection empties what is older. */
    retentionPeriodDays: z.number().nonnegative().default(14),
  })
  .strict()
  .default({ enabled: true, retentionPeriodDays: 14 })

/** Scheduled storage upkeep (docs/lifecycle.md): remote cache eviction and the daily usage snapshot. */
export const upkeepSection = z
  .object({
    /** How often remote repositories' unused cached files are looked for (`unusedArtifactsCleanupPeriodHours`); 0: never. */
    cacheEvictionIntervalSecs: seconds.default(3600),
    /** How often usage is snapshotted (one row per repository and day); 0: never. */
    usageSnapshotIntervalSecs: seconds.default(6 * 3600),
  })
  .strict()
  .default({ cacheEvictionIntervalSecs: 3600, usageSnapshotIntervalSecs: 6 * 3600 })
