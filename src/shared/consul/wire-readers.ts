/**
 * Fast readers for the hot shapes of wire.ts: the per-scale-set reads of a sweep bring ~1 MB of
 * JSON each (catalog nodes, a service's instances, health checks), and checking them with zod cost
 * more than parsing them. A reader checks and copies exactly what its zod schema would (declared
 * fields only, unknown keys dropped, `nullish` lists, maps and strings defaulted the same way) and
 * answers `INVALID` at the first thing the schema would refuse; `parseAnswer` (transport.ts) then
 * asks zod, so an answer Consul got wrong is reported with zod's message as before. Equivalence
 * with the schemas is a property test (test/property/consul-wire-readers.property.test.ts).
 */
import type { z } from 'zod';

export const INVALID: unique symbol = Symbol('invalid');
export type Reader<T> = (value: unknown) => T | typeof INVALID;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const readString: Reader<string> = (v) => (typeof v === 'string' ? v : INVALID);
/** `z.number()`: finite numbers. */
export const readNumber: Reader<number> = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : INVALID);
/** `z.number().int()`: safe integers. */
export const readInt: Reader<number> = (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : INVALID);

/** `z.string().nullish().transform((v) => v ?? '')`. */
export const readOptionalString: Reader<string> = (v) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : INVALID);

/** `z.string().nullable()`. */
export const readNullableString: Reader<string | null> = (v) => (v === null || typeof v === 'string' ? v : INVALID);

/** `z.record(z.string(), z.string()).nullish().transform((v) => v ?? {})`. */
export const readStringMap: Reader<Record<string, string>> = (v) => {
  if (v === null || v === undefined) return {};
  if (!isObject(v)) return INVALID;
  const out: Record<string, string> = {};
  for (const key of Object.keys(v)) {
    const value = v[key];
    if (typeof value !== 'string' || key === '__proto__') return INVALID; // zod drops `__proto__`: let it decide
    out[key] = value;
  }
  return out;
};

/** `z.array(z.string()).nullish().transform((v) => v ?? [])`. */
export const readStringList: Reader<string[]> = (v) => {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) return INVALID;
  for (const item of v) if (typeof item !== 'string') return INVALID;
  return v.slice() as string[];
};

/** `z.array(item)`. */
export function readArray<T>(item: Reader<T>): Reader<T[]> {
  return (v) => {
    if (!Array.isArray(v)) return INVALID;
    const out: T[] = new Array<T>(v.length);
    for (let i = 0; i < v.length; i += 1) {
      const read = item(v[i]);
      if (read === INVALID) return INVALID;
      out[i] = read;
    }
    return out;
  };
}

/** `inner.nullish()` without a transform: null and undefined pass as they are; a missing key stays missing. */
export function readNullish<T>(inner: Reader<T>): Reader<T | null | undefined> & { readonly optional: true } {
  const reader = (v: unknown): T | null | undefined | typeof INVALID => (v === null || v === undefined ? v : inner(v));
  return Object.assign(reader, { optional: true as const });
}

/** `inner.nullish().transform((v) => v ?? fallback())`. */
export function readOr<T>(inner: Reader<T>, fallback: () => T): Reader<T> {
  return (v) => (v === null || v === undefined ? fallback() : inner(v));
}

/** `inner.nullable()`. */
export function readNullable<T>(inner: Reader<T>): Reader<T | null> {
  return (v) => (v === null ? null : inner(v));
}

type Shape = Record<string, Reader<unknown> & { readonly optional?: true }>;
type Read<S extends Shape> = { [K in keyof S]: Exclude<ReturnType<S[K]>, typeof INVALID> };

/** `z.object(shape)` (unknown keys dropped); a field marked optional and missing from the input stays missing. */
export function readObject<S extends Shape>(shape: S): Reader<Read<S>> {
  const keys = Object.keys(shape);
  return (v) => {
    if (!isObject(v)) return INVALID;
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const reader = shape[key]!;
      const raw = v[key];
      if (raw === undefined && reader.optional === true && !(key in v)) continue;
      const read = reader(raw);
      if (read === INVALID) return INVALID;
      out[key] = read;
    }
    return out as Read<S>;
  };
}

const readers = new WeakMap<object, Reader<unknown>>();

/** Gives `schema` a fast reader that answers what `schema.parse` would, or INVALID where it would throw. */
export function withReader<S extends z.ZodType>(schema: S, reader: Reader<z.output<S>>): S {
  readers.set(schema, reader);
  return schema;
}

/** The fast reader given to `schema`, if any. */
export function readerOf<T>(schema: z.ZodType<T>): Reader<T> | undefined {
  return readers.get(schema) as Reader<T> | undefined;
}
