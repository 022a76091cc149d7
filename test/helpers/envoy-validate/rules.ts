/**
 * protoc-gen-validate annotations as protobufjs keeps them, turned into one rules object per field,
 * plus the message- and oneof-level switches.
 *
 * protobufjs parses `[(validate.rules).string = {min_len: 1}]` into the field's `parsedOptions`
 * (`[{'(validate.rules)': {string: {min_len: 1}}}]`); the dotted form
 * `(validate.rules).string.pattern = "…"` and several annotations on one field are merged here.
 * A key repeated inside one aggregate (`{in: "a" in: "b"}`) arrives as an array; a single `in`
 * arrives as a scalar, so list-valued rules are normalised to arrays by the validator.
 *
 * Every rule kind PGV defines (validate/validate.proto of bufbuild/protoc-gen-validate) is listed
 * below with whether this validator implements it. Anything else — a kind missing from PGV's
 * schema, or one marked unsupported — is reported by `unsupportedRules`, and the validator
 * throws rather than pass a message whose rules it cannot apply.
 */
import * as protobuf from 'protobufjs';

export type Rules = Readonly<Record<string, unknown>>;

const NUMERIC_RULES = ['const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'ignore_empty'];

/**
 * The keys of each rule kind this validator applies. PGV's own C++ generator refuses `email`,
 * `uri`, `uri_ref` for strings, `ip*` for bytes, `no_sparse` for maps and timestamp comparisons
 * ("not implemented"), so Envoy can never carry them; we implement `uri`/`uri_ref`/bytes `ip*`
 * and timestamp rules with the Go generator's meaning, and refuse `email` and `no_sparse`.
 */
export const IMPLEMENTED_RULES: Readonly<Record<string, readonly string[]>> = {
  float: NUMERIC_RULES,
  double: NUMERIC_RULES,
  int32: NUMERIC_RULES,
  int64: NUMERIC_RULES,
  uint32: NUMERIC_RULES,
  uint64: NUMERIC_RULES,
  sint32: NUMERIC_RULES,
  sint64: NUMERIC_RULES,
  fixed32: NUMERIC_RULES,
  fixed64: NUMERIC_RULES,
  sfixed32: NUMERIC_RULES,
  sfixed64: NUMERIC_RULES,
  bool: ['const'],
  string: [
    'const', 'len', 'min_len', 'max_len', 'len_bytes', 'min_bytes', 'max_bytes', 'pattern', 'prefix', 'suffix', 'contains',
    'not_contains', 'in', 'not_in', 'hostname', 'ip', 'ipv4', 'ipv6', 'uri', 'uri_ref', 'address', 'uuid', 'well_known_regex',
    'strict', 'ignore_empty',
  ],
  bytes: ['const', 'len', 'min_len', 'max_len', 'pattern', 'prefix', 'suffix', 'contains', 'in', 'not_in', 'ip', 'ipv4', 'ipv6', 'ignore_empty'],
  enum: ['const', 'defined_only', 'in', 'not_in'],
  message: ['skip', 'required'],
  repeated: ['min_items', 'max_items', 'unique', 'items', 'ignore_empty'],
  map: ['min_pairs', 'max_pairs', 'keys', 'values', 'ignore_empty'],
  any: ['required', 'in', 'not_in'],
  duration: ['required', 'const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in'],
  timestamp: ['required', 'const', 'lt', 'lte', 'gt', 'gte', 'lt_now', 'gt_now', 'within'],
};

/** PGV rule kinds deliberately not implemented (Envoy's C++ PGV cannot enforce them either). */
export const REFUSED_RULES: readonly string[] = ['string.email', 'map.no_sparse'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isRecord(existing) && isRecord(value)) mergeInto(existing, value);
    else target[key] = isRecord(value) ? structuredClone(value) : value;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (isRecord(next)) node = next;
    else node = node[key] = {};
  }
  const last = path[path.length - 1]!;
  const existing = node[last];
  if (isRecord(existing) && isRecord(value)) mergeInto(existing, value);
  else node[last] = value;
}

/** The `(validate.X)` annotations of an element, merged into one object per annotation name (`rules`, `required`, …). */
function annotations(parsed: ReadonlyArray<Record<string, unknown>> | undefined, flat: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of parsed ?? []) {
    for (const [key, value] of Object.entries(entry)) {
      const match = /^\(validate\.([a-z_]+)\)(?:\.(.+))?$/.exec(key);
      if (!match) continue;
      setPath(out, [match[1]!, ...(match[2] ? match[2].split('.') : [])], value);
    }
  }
  // Oneofs keep only the flat form (`options['(validate.required)']`).
  for (const [key, value] of Object.entries(flat ?? {})) {
    const match = /^\(validate\.([a-z_]+)\)$/.exec(key);
    if (match && !(match[1]! in out)) out[match[1]!] = value;
  }
  return out;
}

const fieldCache = new WeakMap<protobuf.Field, Rules | null>();

/** The field's `(validate.rules)`, or undefined when it has none. */
export function fieldRules(field: protobuf.Field): Rules | undefined {
  let cached = fieldCache.get(field);
  if (cached === undefined) {
    const rules = annotations(field.parsedOptions as Array<Record<string, unknown>> | undefined, undefined).rules;
    cached = isRecord(rules) ? rules : null;
    fieldCache.set(field, cached);
  }
  return cached ?? undefined;
}

/** `option (validate.required) = true` on a oneof. */
export function oneofRequired(oneof: protobuf.OneOf): boolean {
  return oneof.options?.['(validate.required)'] === true;
}

/** `option (validate.disabled) = true` (validation returns true) or `(validate.ignored)` (no validator is generated). */
export function messageSkipped(type: protobuf.Type): boolean {
  const a = annotations(type.parsedOptions as Array<Record<string, unknown>> | undefined, type.options);
  return a.disabled === true || a.ignored === true;
}

/** Other `(validate.*)` annotations on a message or field than the ones above (none exist in PGV today). */
export function unknownAnnotations(element: protobuf.ReflectionObject): string[] {
  const a = annotations(element.parsedOptions as Array<Record<string, unknown>> | undefined, element.options);
  const known = element instanceof protobuf.Type ? ['disabled', 'ignored'] : element instanceof protobuf.Field ? ['rules'] : ['required'];
  return Object.keys(a).filter((k) => !known.includes(k)).map((k) => `(validate.${k})`);
}

/**
 * Rule kinds in `rules` this validator does not implement, as dotted paths (`string.email`,
 * `repeated.items.map`), recursing into `items`, `keys` and `values`. FieldRules also has a
 * `message` member beside the type-specific one.
 */
export function unsupportedRules(rules: Rules, prefix = ''): string[] {
  const found: string[] = [];
  for (const [kind, body] of Object.entries(rules)) {
    const known = IMPLEMENTED_RULES[kind];
    if (!known) {
      found.push(`${prefix}${kind}`);
      continue;
    }
    if (!isRecord(body)) {
      found.push(`${prefix}${kind} (not an object)`);
      continue;
    }
    for (const [key, value] of Object.entries(body)) {
      if (!known.includes(key)) found.push(`${prefix}${kind}.${key}`);
      else if ((key === 'items' || key === 'keys' || key === 'values') && isRecord(value)) found.push(...unsupportedRules(value, `${prefix}${kind}.${key}.`));
    }
  }
  return found;
}

/** Every rule kind used in a namespace tree, as dotted paths with counts (for coverage reports). */
export function ruleInventory(root: protobuf.NamespaceBase): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const walkRules = (rules: Rules, prefix: string) => {
    for (const [kind, body] of Object.entries(rules)) {
      if (!isRecord(body)) {
        add(`${prefix}${kind}`);
        continue;
      }
      for (const [key, value] of Object.entries(body)) {
        if ((key === 'items' || key === 'keys' || key === 'values') && isRecord(value)) walkRules(value, `${prefix}${kind}.${key}.`);
        else add(`${prefix}${kind}.${key}`);
      }
    }
  };
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const a = annotations(nested.parsedOptions as Array<Record<string, unknown>> | undefined, nested.options);
        for (const key of Object.keys(a)) add(`message (validate.${key})`);
        for (const field of nested.fieldsArray) {
          const rules = fieldRules(field);
          if (rules) walkRules(rules, '');
        }
        for (const oneof of nested.oneofsArray) if (oneofRequired(oneof)) add('oneof (validate.required)');
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  return counts;
}
