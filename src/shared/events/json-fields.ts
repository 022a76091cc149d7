/**
 * Field readers for untrusted JSON that report the JSON path of the first bad field
 * (`[3].data.resourceUri: expected a string, got number 42`). Paths are only concatenated when an
 * error is thrown, so reading thousands of events allocates nothing extra on the happy path.
 */
import { InvalidInputError } from '../errors';

export type JsonObject = Readonly<Record<string, unknown>>;

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
    return `a string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function expectObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new InvalidInputError(`expected an object, got ${describeValue(value)}`, path);
  return value;
}

export function requiredString(object: JsonObject, key: string, path: string): string {
  const value = object[key];
  if (typeof value !== 'string') throw new InvalidInputError(`expected a string, got ${describeValue(value)}`, joinPath(path, key));
  return value;
}

/** Absent (or null) is fine; present with another type is not. */
export function optionalString(object: JsonObject, key: string, path: string): string | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(`expected a string, got ${describeValue(value)}`, joinPath(path, key));
  return value;
}

/** A timestamp string `Date.parse` understands (Event Grid sends RFC 3339 with 7 fractional digits). */
export function requiredTimestamp(object: JsonObject, key: string, path: string): string {
  return timestampAt(object[key], joinPath(path, key));
}

/** As `requiredTimestamp`, for a value already read; `path` is the value's own path. */
export function timestampAt(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new InvalidInputError(`expected a string, got ${describeValue(value)}`, path);
  if (Number.isNaN(Date.parse(value))) throw new InvalidInputError(`expected an RFC 3339 timestamp, got ${describeValue(value)}`, path);
  return value;
}
