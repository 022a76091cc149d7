/**
 * protoc-gen-validate's rules applied to a protobufjs message, as Envoy's MessageUtil::validate
 * applies the generated C++ `Validate()` (envoyproxy/envoy source/common/protobuf/utility.h:
 * `MessageUtil::validate` calls `Validate(message, &err)` and throws ProtoValidationException).
 *
 * Semantics follow PGV's C++ templates (bufbuild/protoc-gen-validate templates/cc/*.go):
 * - scalar fields are always checked, with their default value when absent (proto3 has no
 *   presence): `string name = 1 [(validate.rules).string.min_len = 1]` fails when unset;
 * - members of a oneof and proto3 `optional` fields are checked only when set;
 * - message fields: `message.required` when absent; otherwise the embedded message is validated
 *   recursively unless `message.skip`; wrapper types (UInt32Value, …) get the scalar rules on their
 *   `value` when set; Duration and Timestamp rules apply only when set (plus `required`);
 * - repeated and map fields: size rules, then `items` / `keys` / `values` per element;
 * - `(validate.required)` on a oneof: one member must be set;
 * - messages with `(validate.disabled)` or `(validate.ignored)` are not checked at all.
 * Beyond the generated `Validate()`: google.protobuf.Any contents are validated too, as Envoy does
 * (MessageUtil::recursivePgvCheck in source/common/protobuf/utility.cc runs PGV again on every
 * message inside an Any, and extension factories validate their typed config); and every Duration
 * is checked for Envoy's range (MessageUtil::validateDurationFields → validateDurationUnifiedNoThrow,
 * same file: "Expected positive duration" for negative seconds or nanos, "Duration out-of-range"
 * above 9 223 372 035 s — (INT64_MAX − 999 999 999) / 10^9, about 292 years — or 999 999 999 ns).
 * Every violation is reported (C++ stops at the first).
 *
 * A rule kind this module does not implement makes `validate` throw UnsupportedRuleError listing
 * every such rule of every message type it reached, so nothing passes unchecked.
 */
import * as protobuf from 'protobufjs';
import { fieldRules, messageSkipped, oneofRequired, type Rules, unknownAnnotations, unsupportedRules } from './rules';
import { byteLength, fullMatchRegExp, isAbsoluteUri, isAddress, isHostname, isIp, isIpv4, isIpv6, isUriReference, isUuid, knownRegex, utf8Length } from './well-known';

export interface Violation {
  /** `Cluster.health_checks[0].timeout`; typed configs as `…typed_config<envoy.extensions…Router>.field`. */
  readonly path: string;
  /** The rule that failed: `string.min_len`, `oneof.required`, `envoy.duration_range`, … */
  readonly rule: string;
  readonly message: string;
}

export function formatViolation(v: Violation): string {
  return `${v.path}: ${v.message} [${v.rule}]`;
}

export class UnsupportedRuleError extends Error {
  constructor(readonly rules: readonly string[]) {
    super(`protoc-gen-validate rules this validator does not implement (refusing to pass them silently):\n  ${rules.join('\n  ')}`);
    this.name = 'UnsupportedRuleError';
  }
}

type Msg = Record<string, unknown>;

const WRAPPERS: Readonly<Record<string, string>> = {
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
const DURATION = '.google.protobuf.Duration';
const TIMESTAMP = '.google.protobuf.Timestamp';
const ANY = '.google.protobuf.Any';
const FLOATS = new Set(['double', 'float']);
/** google.protobuf.Duration's own limit (TimeUtil::kDurationMaxSeconds), for PGV's "valid duration" check. */
const MAX_DURATION_SECONDS = 315_576_000_000n;
/** Envoy's stricter limit for every Duration: (INT64_MAX − 999 999 999) / 10^9 seconds. */
const ENVOY_MAX_DURATION_SECONDS = 9_223_372_035n;
const NANOS_PER_SECOND = 1_000_000_000n;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Integer values (numbers, decimal strings, Long objects) as BigInt; floats as numbers. */
function numeric(kind: string, value: unknown): bigint | number {
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

export interface ValidateOptions {
  /** `now` for timestamp `lt_now` / `gt_now` / `within`. Default: the current time. */
  readonly now?: Date;
}

export class PgvValidator {
  readonly violations: Violation[] = [];
  private readonly unsupported = new Set<string>();
  private readonly seenTypes = new Set<protobuf.Type>();
  private readonly nowNanos: bigint;

  constructor(
    private readonly root: protobuf.Root,
    options: ValidateOptions = {},
  ) {
    this.nowNanos = BigInt((options.now ?? new Date()).getTime()) * 1_000_000n;
  }

  /** Validates `message` (a protobufjs message of `type`); throws UnsupportedRuleError at the end if any rule could not be applied. */
  run(type: protobuf.Type, message: Msg, path: string): Violation[] {
    this.message(type, message, path);
    if (this.unsupported.size > 0) throw new UnsupportedRuleError([...this.unsupported].sort());
    return this.violations;
  }

  private report(path: string, rule: string, message: string): void {
    this.violations.push({ path, rule, message });
  }

  /** Every rule of every message type under `ns` that this validator could not apply (empty = all covered). */
  auditAll(ns: protobuf.NamespaceBase): string[] {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) this.audit(nested);
      if (nested instanceof protobuf.Namespace) this.auditAll(nested);
    }
    return [...this.unsupported].sort();
  }

  /** Checks once per type that every rule of every field is one we implement. */
  private audit(type: protobuf.Type): void {
    if (this.seenTypes.has(type)) return;
    this.seenTypes.add(type);
    const where = type.fullName.slice(1);
    for (const a of unknownAnnotations(type)) this.unsupported.add(`${where}: message option ${a}`);
    for (const field of type.fieldsArray) {
      for (const a of unknownAnnotations(field)) this.unsupported.add(`${where}.${field.name}: ${a}`);
      const rules = fieldRules(field);
      if (!rules) continue;
      for (const kind of unsupportedRules(rules)) this.unsupported.add(`${where}.${field.name}: ${kind}`);
      for (const problem of this.kindMismatch(field, rules)) this.unsupported.add(`${where}.${field.name}: ${problem}`);
    }
  }

  /** The rule kind must fit the field (PGV's generator refuses a mismatch, so Envoy never has one). */
  private kindMismatch(field: protobuf.Field, rules: Rules): string[] {
    field.resolve();
    const problems: string[] = [];
    const expect = (kinds: readonly string[], actual: Rules, what: string, element: { type: string; resolved: protobuf.ReflectionObject | null }) => {
      for (const kind of Object.keys(actual)) {
        if (kind === 'message' && element.resolved instanceof protobuf.Type) continue;
        // PGV's checker does not type-check any/duration/timestamp rules, and their C++ `required`
        // compiles on any message field (Envoy has `ConfigSource config_source = 1
        // [(validate.rules).any = {required: true}]`): there it means "the message is required".
        const body = actual[kind];
        const requiredOnly = typeof body === 'object' && body !== null && Object.keys(body).every((k) => k === 'required');
        if (['any', 'duration', 'timestamp'].includes(kind) && element.resolved instanceof protobuf.Type && requiredOnly) continue;
        if (!kinds.includes(kind)) problems.push(`${what}${kind} rules on a ${element.type} field`);
      }
    };
    const elementKinds = (type: string, resolved: protobuf.ReflectionObject | null): string[] => {
      if (resolved instanceof protobuf.Enum) return ['enum'];
      if (resolved instanceof protobuf.Type) {
        const name = resolved.fullName;
        if (WRAPPERS[name]) return [WRAPPERS[name]!];
        if (name === DURATION) return ['duration'];
        if (name === TIMESTAMP) return ['timestamp'];
        if (name === ANY) return ['any'];
        return [];
      }
      return [type];
    };
    const element = { type: field.type, resolved: field.resolvedType };
    if (field instanceof protobuf.MapField) {
      expect(['map'], rules, '', element);
      const map = rules.map as Rules | undefined;
      if (map?.keys) expect(elementKinds(field.keyType, null), map.keys as Rules, 'map.keys.', { type: field.keyType, resolved: null });
      if (map?.values) expect(elementKinds(field.type, field.resolvedType), map.values as Rules, 'map.values.', element);
    } else if (field.repeated) {
      expect(['repeated'], rules, '', element);
      const items = (rules.repeated as Rules | undefined)?.items as Rules | undefined;
      if (items) expect(elementKinds(field.type, field.resolvedType), items, 'repeated.items.', element);
    } else {
      expect(elementKinds(field.type, field.resolvedType), rules, '', element);
    }
    return problems;
  }

  message(type: protobuf.Type, message: Msg, path: string): void {
    if (type.fullName === ANY) return this.any(message, path);
    if (type.fullName === DURATION) return this.durationRange(message, path);
    this.audit(type);
    if (messageSkipped(type)) return;
    for (const field of type.fieldsArray) {
      field.resolve();
      const at = `${path}.${field.name}`;
      const raw = message[field.name];
      const rules = fieldRules(field);
      if (field instanceof protobuf.MapField) {
        this.map(field, isRecord(raw) ? raw : {}, rules, at);
      } else if (field.repeated) {
        this.repeated(field, Array.isArray(raw) ? raw : [], rules, at);
      } else {
        const present = raw !== undefined && raw !== null && (!field.partOf || Object.hasOwn(message, field.name));
        // Oneof members and proto3 `optional` fields are checked only when set.
        if (field.partOf && !present) continue;
        this.single(field.type, field.resolvedType, present ? raw : field.resolvedType instanceof protobuf.Type ? undefined : field.typeDefault, present, rules, at);
      }
    }
    for (const oneof of type.oneofsArray) {
      if (!oneofRequired(oneof)) continue;
      const set = oneof.fieldsArray.some((f) => Object.hasOwn(message, f.name) && message[f.name] !== undefined && message[f.name] !== null);
      if (!set) this.report(`${path}.${oneof.name}`, 'oneof.required', `one of ${oneof.oneof.join(', ')} is required`);
    }
  }

  private single(typeName: string, resolved: protobuf.ReflectionObject | null, value: unknown, present: boolean, rules: Rules | undefined, path: string): void {
    if (resolved instanceof protobuf.Type) {
      const messageRules = rules?.message as Rules | undefined;
      if (!present) {
        const requiredBy = ['message', 'duration', 'timestamp', 'any'].find((k) => (rules?.[k] as Rules | undefined)?.required === true);
        if (requiredBy) this.report(path, `${requiredBy}.required`, 'value is required');
        return;
      }
      const name = resolved.fullName;
      const msg = value as Msg;
      const wrapped = WRAPPERS[name];
      if (wrapped) {
        const inner = rules?.[wrapped] as Rules | undefined;
        if (inner) this.scalar(wrapped, msg.value ?? resolved.fields.value!.typeDefault, inner, path);
        return;
      }
      if (name === DURATION) this.duration(msg, rules?.duration as Rules | undefined, path);
      else if (name === TIMESTAMP) this.timestamp(msg, rules?.timestamp as Rules | undefined, path);
      else if (name === ANY) this.anyRules(msg, rules?.any as Rules | undefined, path);
      if (messageRules?.skip === true) return;
      this.message(resolved, msg, path);
      return;
    }
    if (resolved instanceof protobuf.Enum) {
      const r = rules?.enum as Rules | undefined;
      if (r) this.enumValue(resolved, Number(value), r, path);
      return;
    }
    const r = rules?.[typeName] as Rules | undefined;
    if (r) this.scalar(typeName, value, r, path);
  }

  private repeated(field: protobuf.Field, items: unknown[], rules: Rules | undefined, path: string): void {
    const r = rules?.repeated as Rules | undefined;
    const checkRules = !(r?.ignore_empty === true && items.length === 0);
    if (r && checkRules) {
      this.sizeRules(items.length, r.min_items, r.max_items, 'repeated', 'item(s)', path);
      if (r.unique === true) {
        const seen = new Map<string, number>();
        items.forEach((item, i) => {
          const key = uniqueKey(item);
          const first = seen.get(key);
          if (first !== undefined) this.report(`${path}[${i}]`, 'repeated.unique', `repeated value must contain unique items (same as [${first}])`);
          else seen.set(key, i);
        });
      }
    }
    const itemRules = checkRules ? (r?.items as Rules | undefined) : undefined;
    items.forEach((item, i) => this.single(field.type, field.resolvedType, item, true, itemRules, `${path}[${i}]`));
  }

  private map(field: protobuf.MapField, entries: Record<string, unknown>, rules: Rules | undefined, path: string): void {
    const r = rules?.map as Rules | undefined;
    const keys = Object.keys(entries);
    const checkRules = !(r?.ignore_empty === true && keys.length === 0);
    if (r && checkRules) this.sizeRules(keys.length, r.min_pairs, r.max_pairs, 'map', 'pair(s)', path);
    const keyRules = checkRules ? (r?.keys as Rules | undefined) : undefined;
    const valueRules = checkRules ? (r?.values as Rules | undefined) : undefined;
    for (const key of keys) {
      const at = `${path}[${JSON.stringify(key)}]`;
      if (keyRules) {
        const keyValue = field.keyType === 'string' ? key : field.keyType === 'bool' ? key === 'true' : key;
        this.single(field.keyType, null, keyValue, true, keyRules, `${at}<key>`);
      }
      this.single(field.type, field.resolvedType, entries[key], true, valueRules, at);
    }
  }

  private sizeRules(size: number, min: unknown, max: unknown, kind: string, unit: string, path: string): void {
    const lo = min === undefined ? undefined : Number(min);
    const hi = max === undefined ? undefined : Number(max);
    const minKey = kind === 'map' ? 'min_pairs' : 'min_items';
    const maxKey = kind === 'map' ? 'max_pairs' : 'max_items';
    if (lo !== undefined && size < lo) this.report(path, `${kind}.${minKey}`, `value must contain at least ${lo} ${unit}, has ${size}`);
    if (hi !== undefined && size > hi) this.report(path, `${kind}.${maxKey}`, `value must contain no more than ${hi} ${unit}, has ${size}`);
  }

  private enumValue(type: protobuf.Enum, value: number, r: Rules, path: string): void {
    const name = (v: number) => type.valuesById[v] ?? String(v);
    if (r.const !== undefined && value !== Number(r.const)) this.report(path, 'enum.const', `value must equal ${name(Number(r.const))}`);
    const inList = asList(r.in).map(Number);
    if (inList.length > 0 && !inList.includes(value)) this.report(path, 'enum.in', `value must be in list [${inList.map(name).join(', ')}], got ${name(value)}`);
    const notIn = asList(r.not_in).map(Number);
    if (notIn.includes(value)) this.report(path, 'enum.not_in', `value must not be in list [${notIn.map(name).join(', ')}], got ${name(value)}`);
    if (r.defined_only === true && type.valuesById[value] === undefined) this.report(path, 'enum.defined_only', `value must be one of the defined enum values, got ${value}`);
  }

  private scalar(kind: string, value: unknown, r: Rules, path: string): void {
    if (kind === 'string') return this.string(String(value ?? ''), r, path);
    if (kind === 'bytes') return this.bytes(value instanceof Uint8Array ? value : typeof value === 'string' ? Buffer.from(value, 'base64') : new Uint8Array(), r, path);
    if (kind === 'bool') {
      if (r.const !== undefined && Boolean(value) !== r.const) this.report(path, 'bool.const', `value must equal ${String(r.const)}`);
      return;
    }
    const v = numeric(kind, value ?? 0);
    if (r.ignore_empty === true && compare(v, FLOATS.has(kind) ? 0 : 0n) === 0) return;
    this.comparisons(kind, numberRange(kind), v, r, path);
  }

  /** const, lt/lte/gt/gte (an inverted pair means "outside the range", as in PGV's ltgt template), in, not_in. */
  private comparisons<T>(kind: string, c: Comparable<T>, v: T, r: Rules, path: string): void {
    if (r.const !== undefined && c.cmp(v, c.of(r.const)) !== 0) this.report(path, `${kind}.const`, `value must equal ${c.show(c.of(r.const))}, got ${c.show(v)}`);
    const lt = r.lt === undefined ? undefined : c.of(r.lt);
    const lte = r.lte === undefined ? undefined : c.of(r.lte);
    const gt = r.gt === undefined ? undefined : c.of(r.gt);
    const gte = r.gte === undefined ? undefined : c.of(r.gte);
    const upper = lt !== undefined ? { bound: lt, ok: (x: T) => c.cmp(x, lt) < 0, text: `less than ${c.show(lt)}`, rule: 'lt' } : lte !== undefined ? { bound: lte, ok: (x: T) => c.cmp(x, lte) <= 0, text: `less than or equal to ${c.show(lte)}`, rule: 'lte' } : undefined;
    const lower = gt !== undefined ? { bound: gt, ok: (x: T) => c.cmp(x, gt) > 0, text: `greater than ${c.show(gt)}`, rule: 'gt' } : gte !== undefined ? { bound: gte, ok: (x: T) => c.cmp(x, gte) >= 0, text: `greater than or equal to ${c.show(gte)}`, rule: 'gte' } : undefined;
    if (upper && lower) {
      const inside = c.cmp(upper.bound, lower.bound) > 0;
      const okay = inside ? upper.ok(v) && lower.ok(v) : upper.ok(v) || lower.ok(v);
      if (!okay) this.report(path, `${kind}.${lower.rule}+${upper.rule}`, `value must be ${lower.text} ${inside ? 'and' : 'or'} ${upper.text}, got ${c.show(v)}`);
    } else if (upper && !upper.ok(v)) this.report(path, `${kind}.${upper.rule}`, `value must be ${upper.text}, got ${c.show(v)}`);
    else if (lower && !lower.ok(v)) this.report(path, `${kind}.${lower.rule}`, `value must be ${lower.text}, got ${c.show(v)}`);
    const inList = asList(r.in).map(c.of);
    if (inList.length > 0 && !inList.some((x) => c.cmp(x, v) === 0)) this.report(path, `${kind}.in`, `value must be in list [${inList.map(c.show).join(', ')}], got ${c.show(v)}`);
    const notIn = asList(r.not_in).map(c.of);
    if (notIn.some((x) => c.cmp(x, v) === 0)) this.report(path, `${kind}.not_in`, `value must not be in list [${notIn.map(c.show).join(', ')}], got ${c.show(v)}`);
  }

  private string(v: string, r: Rules, path: string): void {
    if (r.ignore_empty === true && v === '') return;
    const show = JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
    const fail = (rule: string, message: string) => this.report(path, `string.${rule}`, `${message}, got ${show}`);
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
    if (r.pattern !== undefined && !this.matches(String(r.pattern), v, path)) fail('pattern', `value does not match regex pattern ${JSON.stringify(r.pattern)}`);
    if (r.well_known_regex !== undefined && r.well_known_regex !== 'UNKNOWN' && r.well_known_regex !== 0) {
      const name = typeof r.well_known_regex === 'number' ? ['UNKNOWN', 'HTTP_HEADER_NAME', 'HTTP_HEADER_VALUE'][r.well_known_regex] ?? String(r.well_known_regex) : String(r.well_known_regex);
      const strict = r.strict !== false;
      const re = knownRegex(name, strict);
      if (!re) this.unsupported.add(`${path}: string.well_known_regex ${name}`);
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

  private matches(pattern: string, value: string, path: string): boolean {
    try {
      return fullMatchRegExp(pattern).test(value);
    } catch {
      this.unsupported.add(`${path}: pattern ${JSON.stringify(pattern)} (RE2 syntax JavaScript cannot read)`);
      return true;
    }
  }

  private bytes(v: Uint8Array, r: Rules, path: string): void {
    if (r.ignore_empty === true && v.length === 0) return;
    const buf = Buffer.from(v);
    const lit = (x: unknown) => Buffer.from(String(x), 'latin1');
    const fail = (rule: string, message: string) => this.report(path, `bytes.${rule}`, `${message}, got ${v.length} bytes`);
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
    if (r.pattern !== undefined && !this.matches(String(r.pattern), buf.toString('latin1'), path)) fail('pattern', `value does not match regex pattern ${JSON.stringify(r.pattern)}`);
    if (r.ip === true && v.length !== 4 && v.length !== 16) fail('ip', 'value must be a valid IP address (4 or 16 bytes)');
    if (r.ipv4 === true && v.length !== 4) fail('ipv4', 'value must be a valid IPv4 address (4 bytes)');
    if (r.ipv6 === true && v.length !== 16) fail('ipv6', 'value must be a valid IPv6 address (16 bytes)');
  }

  private duration(value: Msg, r: Rules | undefined, path: string): void {
    if (!r) return;
    const v = nanosOf(value);
    const rangeRules = ['const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in'].some((k) => r[k] !== undefined);
    if (!rangeRules) return;
    const seconds = numeric('int64', value.seconds ?? 0) as bigint;
    const nanos = Number(value.nanos ?? 0);
    if (nanos > 999_999_999 || nanos < -999_999_999 || seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS) {
      this.report(path, 'duration.valid', 'value is not a valid duration');
      return;
    }
    this.comparisons('duration', durationRange, v, r, path);
  }

  /** Envoy refuses every Duration that is negative or longer than about 292 years, whatever the field's rules. */
  private durationRange(value: Msg, path: string): void {
    const seconds = numeric('int64', value.seconds ?? 0) as bigint;
    const nanos = Number(value.nanos ?? 0);
    if (seconds < 0n || nanos < 0) this.report(path, 'envoy.duration_range', `Expected positive duration: ${seconds}s ${nanos}ns`);
    else if (nanos > 999_999_999 || seconds > ENVOY_MAX_DURATION_SECONDS) this.report(path, 'envoy.duration_range', `Duration out-of-range: ${seconds}s ${nanos}ns (Envoy's limit is ${ENVOY_MAX_DURATION_SECONDS}s)`);
  }

  private timestamp(value: Msg, r: Rules | undefined, path: string): void {
    if (!r) return;
    const v = nanosOf(value);
    this.comparisons('timestamp', timestampRange, v, r, path);
    const within = r.within === undefined ? undefined : nanosOf(r.within);
    if (r.lt_now === true && (v >= this.nowNanos || (within !== undefined && v < this.nowNanos - within))) {
      this.report(path, 'timestamp.lt_now', `value must be less than now${within !== undefined ? ` within ${durationText(within)}` : ''}`);
    }
    if (r.gt_now === true && (v <= this.nowNanos || (within !== undefined && v > this.nowNanos + within))) {
      this.report(path, 'timestamp.gt_now', `value must be greater than now${within !== undefined ? ` within ${durationText(within)}` : ''}`);
    }
    if (within !== undefined && r.lt_now !== true && r.gt_now !== true) {
      const distance = v > this.nowNanos ? v - this.nowNanos : this.nowNanos - v;
      if (distance > within) this.report(path, 'timestamp.within', `value must be within ${durationText(within)} of now`);
    }
  }

  private anyRules(value: Msg, r: Rules | undefined, path: string): void {
    if (!r) return;
    const url = String(value.type_url ?? '');
    const inList = asList(r.in).map(String);
    if (inList.length > 0 && !inList.includes(url)) this.report(path, 'any.in', `type URL must be in list ${JSON.stringify(inList)}, got ${JSON.stringify(url)}`);
    const notIn = asList(r.not_in).map(String);
    if (notIn.includes(url)) this.report(path, 'any.not_in', `type URL must not be in list ${JSON.stringify(notIn)}, got ${JSON.stringify(url)}`);
  }

  /** An Any's contents, looked up by type URL and validated like any message. */
  private any(value: Msg, path: string): void {
    const url = String(value.type_url ?? '');
    const name = url.slice(url.lastIndexOf('/') + 1);
    const type = name && url.includes('/') ? this.root.lookup(name) : null;
    if (!(type instanceof protobuf.Type)) {
      this.report(path, 'any.type_url', `type URL ${JSON.stringify(url)} names no message type in Envoy's protos (cannot validate its contents)`);
      return;
    }
    const bytes = value.value instanceof Uint8Array ? value.value : new Uint8Array();
    let inner: Msg;
    try {
      inner = type.decode(bytes) as unknown as Msg;
    } catch (error) {
      this.report(path, 'any.decode', `does not decode as ${type.fullName.slice(1)}: ${(error as Error).message}`);
      return;
    }
    this.message(type, inner, `${path}<${type.fullName.slice(1)}>`);
  }
}

function uniqueKey(item: unknown): string {
  if (item instanceof Uint8Array) return `b:${Buffer.from(item).toString('base64')}`;
  if (isRecord(item) && typeof item.toJSON === 'function') return `m:${JSON.stringify(item.toJSON())}`;
  return `${typeof item}:${JSON.stringify(item)}`;
}
