/**
 * Proto3 JSON (what `envoy -c bootstrap.json` parses) → the object form protobufjs's `fromObject`
 * takes: lowerCamel JSON names → field names, Duration/Timestamp strings → {seconds, nanos},
 * wrapper scalars → {value}, Struct/Value/ListValue JSON → their messages, Any `{"@type", …}` with
 * its fields converted by the embedded type. A key the type does not have throws: nothing may be
 * dropped on the way to validation.
 */
import * as protobuf from 'protobufjs';

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** "1.5s" → {seconds: 1, nanos: 500000000}. */
export function parseDuration(text: string, path: string): { seconds: string; nanos: number } {
  const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!match) throw new TypeError(`${path}: a Duration is a string like "1.5s", got ${JSON.stringify(text)}`);
  const sign = match[1] ? -1 : 1;
  const nanos = Number((match[3] ?? '').padEnd(9, '0'));
  return { seconds: `${match[1] ?? ''}${match[2]}`, nanos: sign * nanos };
}

function parseTimestamp(text: string, path: string): { seconds: number; nanos: number } {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new TypeError(`${path}: a Timestamp is an RFC 3339 string, got ${JSON.stringify(text)}`);
  const fraction = /\.(\d{1,9})/.exec(text)?.[1] ?? '';
  return { seconds: Math.floor(ms / 1000), nanos: Number(fraction.padEnd(9, '0')) || 0 };
}

function jsonValue(value: unknown): Record<string, unknown> {
  if (value === null) return { null_value: 'NULL_VALUE' };
  if (typeof value === 'number') return { number_value: value };
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (Array.isArray(value)) return { list_value: { values: value.map(jsonValue) } };
  return { struct_value: { fields: Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, jsonValue(v)])) } };
}

export function fromProto3Json(root: protobuf.Root, type: protobuf.Type, json: unknown, path: string): unknown {
  const name = type.fullName;
  if (name === '.google.protobuf.Duration') return typeof json === 'string' ? parseDuration(json, path) : json;
  if (name === '.google.protobuf.Timestamp') return typeof json === 'string' ? parseTimestamp(json, path) : json;
  if (WRAPPERS.has(name)) return { value: json };
  if (name === '.google.protobuf.Value') return jsonValue(json);
  if (name === '.google.protobuf.Struct') return jsonValue(json).struct_value;
  if (name === '.google.protobuf.ListValue') return { values: (json as unknown[]).map(jsonValue) };
  if (!isObject(json)) throw new TypeError(`${path}: ${name.slice(1)} must be a JSON object`);
  if (name === '.google.protobuf.Any') {
    const typeUrl = json['@type'];
    if (typeof typeUrl !== 'string') throw new TypeError(`${path}: an Any needs "@type"`);
    const inner = root.lookup(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
    if (!(inner instanceof protobuf.Type)) throw new TypeError(`${path}: unknown @type ${typeUrl}`);
    const { '@type': _ignored, ...fields } = json;
    // Well-known types inside an Any carry their JSON form under "value".
    const converted = inner.fullName.startsWith('.google.protobuf.') && 'value' in fields ? fromProto3Json(root, inner, fields.value, path) : fromProto3Json(root, inner, fields, path);
    return { '@type': typeUrl, ...(converted as Record<string, unknown>) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key] ?? type.fieldsArray.find((f) => (f.options?.json_name as string | undefined) === key || camel(f.name) === key);
    if (!field) throw new TypeError(`${path}.${key}: ${name.slice(1)} has no such field`);
    field.resolve();
    const at = `${path}.${field.name}`;
    const one = (item: unknown, itemPath: string) => (field.resolvedType instanceof protobuf.Type ? fromProto3Json(root, field.resolvedType, item, itemPath) : item);
    if (field instanceof protobuf.MapField) out[field.name] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, one(v, `${at}[${JSON.stringify(k)}]`)]));
    else if (field.repeated) out[field.name] = (value as unknown[]).map((v, i) => one(v, `${at}[${i}]`));
    else out[field.name] = one(value, at);
  }
  return out;
}
