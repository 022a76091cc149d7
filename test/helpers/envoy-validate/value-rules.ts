/**
 * The rules of one value, as PGV's C++ templates apply them (bufbuild/protoc-gen-validate
 * templates/cc: const.go, in.go, ltgt.go, string.go, bytes.go, enum.go, duration.go, any.go;
 * timestamp comparisons from the Go templates, as C++ has none): numbers, strings, bytes, enums,
 * Durations, Timestamps and Any type URLs. The message walker (pgv.ts) decides which value gets
 * which rules and when; this module only compares.
 */
import type * as protobuf from 'protobufjs';
import type { Rules } from './rules';
import { byteLength, fullMatchRegExp, isAbsoluteUri, isAddress, isHostname, isIp, isIpv4, isIpv6, isUriReference, isUuid, knownRegex, utf8Length } from './well-known';

export type Msg = Record<string, unknown>;

/** Called with the failed rule (`string.min_len`) and the message; the caller adds the path. */
export type Report = (rule: string, message: string) => void;

export const WRAPPERS: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};
export const DURATION = '.google.protobuf.Duration';
export const TIMESTAMP = '.google.protobuf.Timestamp';
export const ANY = '.google.protobuf.Any';
export const FLOATS = new Set(['double', 'float']);
/** google.protobuf.Duration's own limit (TimeUtil::kDurationMaxSeconds), for PGV's "valid duration" check. */
const MAX_DURATION_SECONDS = 315_576_000_000n;
/** Envoy's stricter limit for every Duration: (INT64_MAX − 999 999 999) / 10^9 seconds. */
const ENVOY_MAX_DURATION_SECONDS = 9_223_372_035n;
const NANOS_PER_SECOND = 1_000_000_000n;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Integer values (numbers, decimal strings, Long objects) as BigInt; floats as numbers. */
export function numeric(kind: string, value: unknown): bigint | number {
  if (FLOATS.has(kind)) return typeof value === 'number' ? value : Number(value);
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'string') return BigInt(value);
  if (isRecord(value) && typeof value.low === 'number' && typeof value.high === 'number') {
    const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
    return value.unsigned === true ? BigInt.asUintN(64, bits) : BigInt.asIntN(64, bits);
  }
  throw new TypeError(`not a ${kind}: ${String(value)}`);
}

function compare(a: bigint | number, b: bigint | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Duration or Timestamp {seconds, nanos} (numbers, strings or Longs; `{}` = 0) as total nanoseconds. */
function nanosOf(value: unknown): bigint {
  const v = isRecord(value) ? value : {};
  const seconds = v.seconds === undefined || v.seconds === null ? 0n : (numeric('int64', v.seconds) as bigint);
  const nanos = v.nanos === undefined || v.nanos === null ? 0n : BigInt(Number(v.nanos));
  return seconds * NANOS_PER_SECOND + nanos;
}

function durationText(nanos: bigint): string {
  const negative = nanos < 0n;
  const abs = negative ? -nanos : nanos;
  const frac = (abs % NANOS_PER_SECOND).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / NANOS_PER_SECOND}${frac ? `.${frac}` : ''}s`;
}

interface Comparable<T> {
  readonly of: (raw: unknown) => T;
  readonly cmp: (a: T, b: T) => number;
  readonly show: (v: T) => string;
}

const numberRange = (kind: string): Comparable<bigint | number> => ({ of: (raw) => numeric(kind, raw), cmp: compare, show: (v) => String(v) });
const durationRange: Comparable<bigint> = { of: nanosOf, cmp: compare, show: durationText };
const timestampRange: Comparable<bigint> = { of: nanosOf, cmp: compare, show: (v) => new Date(Number(v / 1_000_000n)).toISOString() };

export function checkEnum(type: protobuf.Enum, value: number, r: Rules, report: Report): void {
  const name = (v: number) => type.valuesById[v] ?? String(v);
  if (r.const !== undefined && value !== Number(r.const)) report('enum.const', `value must equal ${name(Number(r.const))}`);
  const inList = asList(r.in).map(Number);
  if (inList.length > 0 && !inList.includes(value)) report('enum.in', `value must be in list [${inList.map(name).join(', ')}], got ${name(value)}`);
  const notIn = asList(r.not_in).map(Number);
  if (notIn.includes(value)) report('enum.not_in', `value must not be in list [${notIn.map(name).join(', ')}], got ${name(value)}`);
  if (r.defined_only === true && type.valuesById[value] === undefined) report('enum.defined_only', `value must be one of the defined enum values, got ${value}`);
}

/** Rules of a scalar (or a wrapper's value): string, bytes, bool or a number kind. */
export function checkScalar(kind: string, value: unknown, r: Rules, report: Report, unreadable: (pattern: string) => void): void {
  if (kind === 'string') return checkString(String(value ?? ''), r, report, unreadable);
  if (kind === 'bytes') return checkBytes(value instanceof Uint8Array ? value : typeof value === 'string' ? Buffer.from(value, 'base64') : new Uint8Array(), r, report, unreadable);
  if (kind === 'bool') {
    if (r.const !== undefined && Boolean(value) !== r.const) report('bool.const', `value must equal ${String(r.const)}`);
    return;
  }
  const v = numeric(kind, value ?? 0);
  if (r.ignore_empty === true && compare(v, FLOATS.has(kind) ? 0 : 0n) === 0) return;
  checkComparisons(kind, numberRange(kind), v, r, report);
}

/** const, lt/lte/gt/gte (an inverted pair means "outside the range", as in PGV's ltgt template), in, not_in. */
function checkComparisons<T>(kind: string, c: Comparable<T>, v: T, r: Rules, report: Report): void {
  if (r.const !== undefined && c.cmp(v, c.of(r.const)) !== 0) report(`${kind}.const`, `value must equal ${c.show(c.of(r.const))}, got ${c.show(v)}`);
  const lt = r.lt === undefined ? undefined : c.of(r.lt);
  const lte = r.lte === undefined ? undefined : c.of(r.lte);
  const gt = r.gt === undefined ? undefined : c.of(r.gt);
  const gte = r.gte === undefined ? undefined : c.of(r.gte);
  const upper = lt !== undefined ? { bound: lt, ok: (x: T) => c.cmp(x, lt) < 0, text: `less than ${c.show(lt)}`, rule: 'lt' } : lte !== undefined ? { bound: lte, ok: (x: T) => c.cmp(x, lte) <= 0, text: `less than or equal to ${c.show(lte)}`, rule: 'lte' } : undefined;
  const lower = gt !== undefined ? { bound: gt, ok: (x: T) => c.cmp(x, gt) > 0, text: `greater than ${c.show(gt)}`, rule: 'gt' } : gte !== undefined ? { bound: gte, ok: (x: T) => c.cmp(x, gte) >= 0, text: `greater than or equal to ${c.show(gte)}`, rule: 'gte' } : undefined;
  if (upper && lower) {
    const inside = c.cmp(upper.bound, lower.bound) > 0;
    const okay = inside ? upper.ok(v) && lower.ok(v) : upper.ok(v) || lower.ok(v);
    if (!okay) report(`${kind}.${lower.rule}+${upper.rule}`, `value must be ${lower.text} ${inside ? 'and' : 'or'} ${upper.text}, got ${c.show(v)}`);
  } else if (upper && !upper.ok(v)) report(`${kind}.${upper.rule}`, `value must be ${upper.text}, got ${c.show(v)}`);
  else if (lower && !lower.ok(v)) report(`${kind}.${lower.rule}`, `value must be ${lower.text}, got ${c.show(v)}`);
  const inList = asList(r.in).map(c.of);
  if (inList.length > 0 && !inList.some((x) => c.cmp(x, v) === 0)) report(`${kind}.in`, `value must be in list [${inList.map(c.show).join(', ')}], got ${c.show(v)}`);
  const notIn = asList(r.not_in).map(c.of);
  if (notIn.some((x) => c.cmp(x, v) === 0)) report(`${kind}.not_in`, `value must not be in list [${notIn.map(c.show).join(', ')}], got ${c.show(v)}`);
}

function checkString(v: string, r: Rules, report: Report, unreadable: (pattern: string) => void): void {
  if (r.ignore_empty === true && v === '') return;
  const show = JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  const fail = (rule: string, message: string) => report(`string.${rule}`, `${message}, got ${show}`);
  if (r.const !== undefined && v !== r.const) fail('const', `value must equal ${JSON.stringify(r.const)}`);
  const inList = asList(r.in).map(String);
  if (inList.length > 0 && !inList.includes(v)) fail('in', `value must be in list ${JSON.stringify(inList)}`);
  const notIn = asList(r.not_in).map(String);
  if (notIn.includes(v)) fail('not_in', `value must not be in list ${JSON.stringify(notIn)}`);
  const chars = utf8Length(v);
  if (r.len !== undefined && chars !== Number(r.len)) fail('len', `value length must be ${r.len} characters`);
  if (r.min_len !== undefined && chars < Number(r.min_len)) fail('min_len', `value length must be at least ${r.min_len} characters`);
  if (r.max_len !== undefined && chars > Number(r.max_len)) fail('max_len', `value length must be at most ${r.max_len} characters`);
  const bytes = byteLength(v);
  if (r.len_bytes !== undefined && bytes !== Number(r.len_bytes)) fail('len_bytes', `value length must be ${r.len_bytes} bytes`);
  if (r.min_bytes !== undefined && bytes < Number(r.min_bytes)) fail('min_bytes', `value length must be at least ${r.min_bytes} bytes`);
  if (r.max_bytes !== undefined && bytes > Number(r.max_bytes)) fail('max_bytes', `value length must be at most ${r.max_bytes} bytes`);
  if (r.prefix !== undefined && !v.startsWith(String(r.prefix))) fail('prefix', `value does not have prefix ${JSON.stringify(r.prefix)}`);
  if (r.suffix !== undefined && !v.endsWith(String(r.suffix))) fail('suffix', `value does not have suffix ${JSON.stringify(r.suffix)}`);
  if (r.contains !== undefined && !v.includes(String(r.contains))) fail('contains', `value does not contain substring ${JSON.stringify(r.contains)}`);
  if (r.not_contains !== undefined && v.includes(String(r.not_contains))) fail('not_contains', `value contains substring ${JSON.stringify(r.not_contains)}`);
  if (r.pattern !== undefined && !matches(String(r.pattern), v, unreadable)) fail('pattern', `value does not match regex pattern ${JSON.stringify(r.pattern)}`);
  if (r.well_known_regex !== undefined && r.well_known_regex !== 'UNKNOWN' && r.well_known_regex !== 0) {
    const name = typeof r.well_known_regex === 'number' ? ['UNKNOWN', 'HTTP_HEADER_NAME', 'HTTP_HEADER_VALUE'][r.well_known_regex] ?? String(r.well_known_regex) : String(r.well_known_regex);
    const strict = r.strict !== false;
    const re = knownRegex(name, strict);
    if (!re) unreadable(`well_known_regex ${name}`);
    else if (!re.test(v)) fail(`well_known_regex`, `value must be a valid ${name}${strict ? '' : ' (non-strict: no NUL, CR or LF)'}`);
  }
  if (r.hostname === true && !isHostname(v)) fail('hostname', 'value must be a valid hostname');
  if (r.ip === true && !isIp(v)) fail('ip', 'value must be a valid IP address');
  if (r.ipv4 === true && !isIpv4(v)) fail('ipv4', 'value must be a valid IPv4 address');
  if (r.ipv6 === true && !isIpv6(v)) fail('ipv6', 'value must be a valid IPv6 address');
  if (r.address === true && !isAddress(v)) fail('address', 'value must be an IP address or a hostname');
  if (r.uri === true && !isAbsoluteUri(v)) fail('uri', 'value must be a valid absolute URI');
  if (r.uri_ref === true && !isUriReference(v)) fail('uri_ref', 'value must be a valid URI reference');
  if (r.uuid === true && !isUuid(v)) fail('uuid', 'value must be a valid UUID');
}

function matches(pattern: string, value: string, unreadable: (pattern: string) => void): boolean {
  try {
    return fullMatchRegExp(pattern).test(value);
  } catch {
    unreadable(pattern);
    return true;
  }
}

function checkBytes(v: Uint8Array, r: Rules, report: Report, unreadable: (pattern: string) => void): void {
  if (r.ignore_empty === true && v.length === 0) return;
  const buf = Buffer.from(v);
  const lit = (x: unknown) => Buffer.from(String(x), 'latin1');
  const fail = (rule: string, message: string) => report(`bytes.${rule}`, `${message}, got ${v.length} bytes`);
  if (r.const !== undefined && !buf.equals(lit(r.const))) fail('const', 'value must equal the given bytes');
  const inList = asList(r.in).map(lit);
  if (inList.length > 0 && !inList.some((x) => x.equals(buf))) fail('in', 'value must be in the given list');
  if (asList(r.not_in).map(lit).some((x) => x.equals(buf))) fail('not_in', 'value must not be in the given list');
  if (r.len !== undefined && v.length !== Number(r.len)) fail('len', `value length must be ${r.len} bytes`);
  if (r.min_len !== undefined && v.length < Number(r.min_len)) fail('min_len', `value length must be at least ${r.min_len} bytes`);
  if (r.max_len !== undefined && v.length > Number(r.max_len)) fail('max_len', `value length must be at most ${r.max_len} bytes`);
  if (r.prefix !== undefined && !buf.subarray(0, lit(r.prefix).length).equals(lit(r.prefix))) fail('prefix', 'value does not have the given prefix');
  if (r.suffix !== undefined && (buf.length < lit(r.suffix).length || !buf.subarray(buf.length - lit(r.suffix).length).equals(lit(r.suffix)))) fail('suffix', 'value does not have the given suffix');
  if (r.contains !== undefined && !buf.includes(lit(r.contains))) fail('contains', 'value does not contain the given bytes');
  if (r.pattern !== undefined && !matches(String(r.pattern), buf.toString('latin1'), unreadable)) fail('pattern', `value does not match regex pattern ${JSON.stringify(r.pattern)}`);
  if (r.ip === true && v.length !== 4 && v.length !== 16) fail('ip', 'value must be a valid IP address (4 or 16 bytes)');
  if (r.ipv4 === true && v.length !== 4) fail('ipv4', 'value must be a valid IPv4 address (4 bytes)');
  if (r.ipv6 === true && v.length !== 16) fail('ipv6', 'value must be a valid IPv6 address (16 bytes)');
}

/** PGV duration rules (applied only when the Duration is set). */
export function checkDuration(value: Msg, r: Rules | undefined, report: Report): void {
  if (!r) return;
  const v = nanosOf(value);
  const rangeRules = ['const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in'].some((k) => r[k] !== undefined);
  if (!rangeRules) return;
  const seconds = numeric('int64', value.seconds ?? 0) as bigint;
  const nanos = Number(value.nanos ?? 0);
  if (nanos > 999_999_999 || nanos < -999_999_999 || seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS) {
    report('duration.valid', 'value is not a valid duration');
    return;
  }
  checkComparisons('duration', durationRange, v, r, report);
}

/** Envoy refuses every Duration that is negative or longer than about 292 years, whatever the field's rules. */
export function checkEnvoyDurationRange(value: Msg, report: Report): void {
  const seconds = numeric('int64', value.seconds ?? 0) as bigint;
  const nanos = Number(value.nanos ?? 0);
  if (seconds < 0n || nanos < 0) report('envoy.duration_range', `Expected positive duration: ${seconds}s ${nanos}ns`);
  else if (nanos > 999_999_999 || seconds > ENVOY_MAX_DURATION_SECONDS) report('envoy.duration_range', `Duration out-of-range: ${seconds}s ${nanos}ns (Envoy's limit is ${ENVOY_MAX_DURATION_SECONDS}s)`);
}

/** PGV timestamp rules (applied only when the Timestamp is set); `nowNanos` for lt_now / gt_now / within. */
export function checkTimestamp(value: Msg, r: Rules | undefined, nowNanos: bigint, report: Report): void {
  if (!r) return;
  const v = nanosOf(value);
  checkComparisons('timestamp', timestampRange, v, r, report);
  const within = r.within === undefined ? undefined : nanosOf(r.within);
  if (r.lt_now === true && (v >= nowNanos || (within !== undefined && v < nowNanos - within))) {
    report('timestamp.lt_now', `value must be less than now${within !== undefined ? ` within ${durationText(within)}` : ''}`);
  }
  if (r.gt_now === true && (v <= nowNanos || (within !== undefined && v > nowNanos + within))) {
    report('timestamp.gt_now', `value must be greater than now${within !== undefined ? ` within ${durationText(within)}` : ''}`);
  }
  if (within !== undefined && r.lt_now !== true && r.gt_now !== true) {
    const distance = v > nowNanos ? v - nowNanos : nowNanos - v;
    if (distance > within) report('timestamp.within', `value must be within ${durationText(within)} of now`);
  }
}

export function checkAnyRules(value: Msg, r: Rules | undefined, report: Report): void {
  if (!r) return;
  const url = String(value.type_url ?? '');
  const inList = asList(r.in).map(String);
  if (inList.length > 0 && !inList.includes(url)) report('any.in', `type URL must be in list ${JSON.stringify(inList)}, got ${JSON.stringify(url)}`);
  const notIn = asList(r.not_in).map(String);
  if (notIn.includes(url)) report('any.not_in', `type URL must not be in list ${JSON.stringify(notIn)}, got ${JSON.stringify(url)}`);
}
