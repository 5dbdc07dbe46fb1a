import { z } from 'zod'

const seconds = z.number().int().nonnegative()
const MiB = 1024 * 1024

/** Several nodes on one PostgreSQL and one blob store (docs/high-availability.md). */
export const clusterSection = z
  .object({
    /** How often a node records its heartbeat. */
    heartbeatSecs: seconds.min(1).default(5),
    /** A node silent this long is dead: its jobs and temporary uploads are taken over. */
    nodeTimeoutSecs: seconds.min(2).default(60),
    /** A remote download's lease not renewed this long is taken over by a waiting node. */
    leaseTtlSecs: seconds.min(2).default(10),
    /**
     * At SIGTERM, how long the node keeps serving while its readiness already answers 503, so
     * that a balancer checking readiness stops sending before the listener closes.
     */
    drainDelaySecs: seconds.default(0),
    /** At SIGTERM, then, how long in-flight requests (and a running job) may take before the process exits anyway. */
    drainTimeoutSecs: seconds.default(30),
  })
  .strict()
  .default({ heartbeatSecs: 5, nodeTimeoutSecs: 60, leaseTtlSecs: 10, drainDelaySecs: 0, drainTimeoutSecs: 30 })

/** Federated repositories (docs/federation.md): the credential instances trust each other with, and the pace of replication. */
export const federationSection = z
  .object({
    /** Sent to the other members (header `X-Trove-Federation-Token`); their admins list it in their `peerTokens`. */
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    /** The tokens of the members this instance accepts changes from. Empty: it joins no federation. */
    peerTokens: z.array(z.string().min(16, 'must be at least 16 characters')).default([]),
    /** How often pending changes are looked for when none was announced (a change is sent at once otherwise). */
    intervalMs: z.number().int().min(50).default(2000),
    /** How often each member is compared in full (digest tree); 0: only on request. */
    fullSyncIntervalSecs: seconds.default(3600),
    /** Changes kept for one member that does not take them; past this its backlog is dropped and a full sync repairs it. */
    maxBacklog: z.number().int().positive().default(100_000),
    /** How long deletes are remembered (tombstones), so that an older write elsewhere never brings a file back. */
    tombstoneDays: z.number().int().positive().default(30),
    /** Blobs are sent in resumable chunks of this size. */
    chunkBytes: z.number().int().min(1024 * 1024).default(64 * MiB),
  })
  .strict()
  .default({ peerTokens: [], intervalMs: 2000, fullSyncIntervalSecs: 3600, maxBacklog: 100_000, tombstoneDays: 30, chunkBytes: 64 * MiB })

/** Memory kept per node for serving metadata fast (docs/configuration.md#caches). */
export const cachesSection = z
  .object({
    /** Rendered metadata documents of local repositories (packuments, index pages, lists), compressed forms included; 0 turns it off. */
    documentBytes: z.number().int().nonnegative().default(64 * MiB),
    /** How long a verified credential (token or password) is remembered; revocations and account changes end it at once. 0 turns it off. */
    credentialSecs: seconds.max(300).default(10),
  })
  .strict()
  .default({ documentBytes: 64 * MiB, credentialSecs: 10 })
