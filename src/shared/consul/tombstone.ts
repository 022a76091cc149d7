/**
 * Reading a tombstone (`<prefix>/tombstones/<sub>/<rg>/<scale set>/<node>`) and the two rules for
 * when it stops blocking its node. The registry's read of a scale set's tombstones and the timer's
 * KV cleanup both use them, so "expired" means the same thing to both.
 *
 * A tombstone guards against a stale listing, not against a fresh one (principle 4; issue 9, D1).
 * It keeps a listing that started before the removal (and so may still show the removed instance)
 * from bringing the node back. A listing that started after the tombstone was written and still
 * shows the instance running is newer evidence than whatever removed it (a 404 that was wrong, a
 * listing that had lost it): it may register the node, and that registration deletes the
 * tombstone in the same transaction (delete-cas at the index read, then check-not-exists), so a
 * tombstone rewritten meanwhile still stops it.
 */
import type { TombstoneValue } from './plan-units';

/**
 * How much later than the tombstone's `deletedAt` a listing must start to be fresher than it.
 * Both stamps come from Function hosts' clocks: Azure keeps them within milliseconds of each other
 * (host time sync / NTP), and `deletedAt` is taken before the removal's transactions commit (one
 * to a few round trips). 5 s covers both a hundredfold while keeping a wrongful removal down to
 * about one reconcile, not the whole TTL. Racing runs do not depend on it alone: the scale set's
 * marker lets only listings newer than the last claim write.
 */
export const TOMBSTONE_FRESH_LISTING_MARGIN_MS = 5_000;

export function parseTombstone(text: string): TombstoneValue | null {
  try {
    const value = JSON.parse(text) as Partial<TombstoneValue>;
    return typeof value.deletedAt === 'number' ? (value as TombstoneValue) : null;
  } catch {
    return null;
  }
}

/**
 * A tombstone blocks its node for `ttlMs` (VMSS_MESH_TOMBSTONE_TTL_SECONDS) after the removal.
 * Unreadable ones (null) never expire: a removed instance must not come back by accident.
 */
export function isTombstoneExpired(value: TombstoneValue | null, ttlMs: number, now: number): boolean {
  return value !== null && value.deletedAt + ttlMs <= now;
}

/**
 * True when a listing that started at `listedAt` is fresher than the tombstone (see the header):
 * it no longer blocks a registration from that listing. Unreadable ones (null) are never lifted.
 */
export function isTombstoneLifted(value: TombstoneValue | null, listedAt: number): boolean {
  return value !== null && listedAt > value.deletedAt + TOMBSTONE_FRESH_LISTING_MARGIN_MS;
}
