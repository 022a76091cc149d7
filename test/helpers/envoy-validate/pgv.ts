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
import { ANY, checkAnyRules, checkDuration, checkEnum, checkEnvoyDurationRange, checkScalar, checkTimestamp, DURATION, isRecord, type Msg, type Report, TIMESTAMP, WRAPPERS } from './value-rules';

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

  private reporter(path: string): Report {
    return (rule, message) => this.report(path, rule, message);
  }

  /** A pattern (or well-known regex) JavaScript cannot read: the rule cannot be applied, so it is refused. */
  private unreadable(path: string): (pattern: string) => void {
    return (pattern) => this.unsupported.add(`${path}: pattern ${JSON.stringify(pattern)} (RE2 syntax JavaScript cannot read)`);
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
    if (type.fullName === DURATION) return checkEnvoyDurationRange(message, this.reporter(path));
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
        if (inner) checkScalar(wrapped, msg.value ?? resolved.fields.value!.typeDefault, inner, this.reporter(path), this.unreadable(path));
        return;
      }
      if (name === DURATION) checkDuration(msg, rules?.duration as Rules | undefined, this.reporter(path));
      else if (name === TIMESTAMP) checkTimestamp(msg, rules?.timestamp as Rules | undefined, this.nowNanos, this.reporter(path));
      else if (name === ANY) checkAnyRules(msg, rules?.any as Rules | undefined, this.reporter(path));
      if (messageRules?.skip === true) return;
      this.message(resolved, msg, path);
      return;
    }
    if (resolved instanceof protobuf.Enum) {
      const r = rules?.enum as Rules | undefined;
      if (r) checkEnum(resolved, Number(value), r, this.reporter(path));
      return;
    }
    const r = rules?.[typeName] as Rules | undefined;
    if (r) checkScalar(typeName, value, r, this.reporter(path), this.unreadable(path));
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
