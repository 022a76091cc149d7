/**
 * Where new instances go and which ones a scale-in removes, the way Azure decides: new instances
 * fill the zone with the fewest, and the Default scale-in policy first balances zones, then
 * removes the highest instance id (NewestVM / OldestVM go by age alone).
 */
import type { ScaleInPolicy } from './world-types';

export interface Placed {
  readonly zone?: string;
  /** Creation order: higher is newer (and, in Uniform sets, a higher instance id). */
  readonly ordinal: number;
}

/** The zone for a new instance: the one with fewest active instances, first listed on ties. */
export function pickZone(zones: readonly string[], active: readonly Placed[]): string | undefined {
  if (zones.length === 0) return undefined;
  const counts = zones.map((zone) => active.filter((i) => i.zone === zone).length);
  return zones[counts.indexOf(Math.min(...counts))];
}

/** The next instance a scale-in removes, or `undefined` when there is none. */
export function pickForScaleIn<T extends Placed>(policy: ScaleInPolicy, zones: readonly string[], active: readonly T[]): T | undefined {
  const byAge = [...active].sort((a, b) => a.ordinal - b.ordinal);
  if (policy === 'OldestVM') return byAge[0];
  if (policy === 'NewestVM' || zones.length === 0) return byAge[byAge.length - 1];
  const perZone = new Map<string, T[]>();
  for (const instance of byAge) perZone.set(instance.zone ?? '', [...(perZone.get(instance.zone ?? '') ?? []), instance]);
  const fullest = [...perZone.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  return fullest[fullest.length - 1];
}
