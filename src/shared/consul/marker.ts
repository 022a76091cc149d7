/**
 * The per-scale-set marker key (`<prefix>/scale-sets/<sub>/<rg>/<name>`): which listing last
 * claimed the scale set, and the summary of the last completed reconcile (read by the status
 * function). Its ModifyIndex is the fence of the concurrency protocol: every transaction of a
 * reconcile checks it is still the index its claim produced.
 */
import { z } from 'zod';

/** What ARM said about the scale set in the reconcile that wrote a summary. */
export type RecordedScaleSetState = 'in-mesh' | 'left-mesh' | 'not-found';

export interface ReconcileSummary {
  readonly runId: string;
  readonly listedAt: number;
  readonly finishedAt: number;
  readonly registered: number;
  readonly updated: number;
  readonly deregistered: number;
  readonly skipped: number;
  readonly tombstonesWritten: number;
  readonly tombstonesExpired: number;
  /** Owned nodes of the scale set after the reconcile. */
  readonly instanceCount: number;
  readonly committedIndex: number;
  readonly batches: number;
  /**
   * ARM's answer for the scale set in that reconcile; absent in summaries written before it was
   * recorded, or by a caller that did not say. The KV cleanup looks up in ARM only markers whose
   * last reconcile found the scale set gone (kv-garbage-rules.ts).
   */
  readonly scaleSetState?: RecordedScaleSetState;
}

export interface MarkerValue {
  readonly scaleSetId: string;
  /** ms timestamp taken before the ARM listing of the run that last claimed. */
  readonly listedAt: number;
  readonly runId: string;
  readonly claimedAt: number;
  readonly lastReconcile?: ReconcileSummary;
}

export interface MarkerRecord {
  readonly key: string;
  readonly modifyIndex: number;
  /** Null when the key holds something we cannot read (it is then overwritten by the next claim). */
  readonly value: MarkerValue | null;
}

const count = z.number().int().nonnegative();
const summarySchema = z.object({
  runId: z.string(),
  listedAt: z.number(),
  finishedAt: z.number(),
  registered: count,
  updated: count,
  deregistered: count,
  skipped: count,
  tombstonesWritten: count,
  tombstonesExpired: count,
  instanceCount: count,
  committedIndex: count,
  batches: count,
  scaleSetState: z.enum(['in-mesh', 'left-mesh', 'not-found']).optional(),
});
const markerSchema = z.object({
  scaleSetId: z.string(),
  listedAt: z.number(),
  runId: z.string(),
  claimedAt: z.number(),
  lastReconcile: summarySchema.optional(),
});

export function parseMarker(text: string): MarkerValue | null {
  try {
    const result = markerSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

export function serializeMarker(value: MarkerValue): string {
  return JSON.stringify(value);
}
