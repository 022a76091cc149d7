/**
 * KV operations of the double, following Consul's kvs state store: CAS with index 0 means
 * "create only", deleting a missing key with CAS succeeds, an unchanged write keeps its index,
 * and deletes leave a graveyard entry so prefix listings report a non-decreasing index.
 */
import { OpError, World } from './catalog-kv-state';
import type { KvEntry } from './catalog-kv-state';
import { compareStrings } from '../../shared/compare-strings';

export interface KvInput {
  readonly key: string;
  /** Base64 or null. */
  readonly value: string | null;
  readonly flags?: number;
}

export function kvSet(w: World, idx: number, input: KvInput): KvEntry {
  const existing = w.kv.get(input.key);
  const flags = input.flags ?? 0;
  if (existing && existing.value === normalise(input.value) && existing.flags === flags) return existing;
  const next: KvEntry = {
    key: input.key,
    value: normalise(input.value),
    flags,
    lockIndex: existing?.lockIndex ?? 0,
    session: existing?.session ?? '',
    createIndex: existing?.createIndex ?? idx,
    modifyIndex: idx,
  };
  w.kv.set(input.key, next);
  w.kvGraveyard.delete(input.key);
  w.tables.kvs = idx;
  return next;
}

/** Returns null when the CAS comparison fails (the caller words the failure). */
export function kvCas(w: World, idx: number, input: KvInput, cas: number): KvEntry | null {
  const existing = w.kv.get(input.key);
  if (cas === 0 && existing) return null;
  if (cas !== 0 && (!existing || existing.modifyIndex !== cas)) return null;
  return kvSet(w, idx, input);
}

export function kvDelete(w: World, idx: number, key: string): void {
  if (!w.kv.has(key)) return;
  w.kv.delete(key);
  w.kvGraveyard.set(key, idx);
  w.tables.kvs = idx;
}

/** False when the comparison fails; a missing key counts as deleted (Consul's kvsDeleteCASTxn). */
export function kvDeleteCas(w: World, idx: number, key: string, cas: number): boolean {
  const existing = w.kv.get(key);
  if (!existing) return true;
  if (existing.modifyIndex !== cas) return false;
  kvDelete(w, idx, key);
  return true;
}

export function kvDeleteTree(w: World, idx: number, prefix: string): void {
  for (const key of [...w.kv.keys()]) if (key.startsWith(prefix)) kvDelete(w, idx, key);
}

export function kvList(w: World, prefix: string): KvEntry[] {
  return [...w.kv.values()].filter((e) => e.key.startsWith(prefix)).sort((a, b) => compareStrings(a.key, b.key));
}

export function kvCheckIndex(w: World, key: string, cas: number): KvEntry {
  const existing = w.kv.get(key);
  if (!existing) throw new OpError(`failed to check index, key ${JSON.stringify(key)} doesn't exist`);
  if (existing.modifyIndex !== cas) {
    throw new OpError(`failed index check for key ${JSON.stringify(key)}, current modify index ${existing.modifyIndex} != ${cas}`);
  }
  return existing;
}

/**
 * The index a KV read reports: the key's ModifyIndex when it exists; for a prefix, the highest
 * index among its entries and graveyard; otherwise the KV table index.
 */
export function kvReadIndex(w: World, key: string, prefix: boolean): number {
  if (!prefix) return w.kv.get(key)?.modifyIndex ?? w.tables.kvs;
  if (key === '') return w.tables.kvs;
  let max = 0;
  for (const e of w.kv.values()) if (e.key.startsWith(key)) max = Math.max(max, e.modifyIndex);
  for (const [k, i] of w.kvGraveyard) if (k.startsWith(key)) max = Math.max(max, i);
  return max || w.tables.kvs;
}

function normalise(value: string | null): string | null {
  return value === '' ? null : value;
}
