/**
 * Reading a tombstone (`<prefix>/tombstones/<sub>/<rg>/<scale set>/<node>`) and the one rule for
 * when it expires. The registry's read of a scale set's tombstones and the timer's KV cleanup
 * both use it, so "expired" means the same thing to both.
 */
import type { TombstoneValue } from './plan-units';

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
