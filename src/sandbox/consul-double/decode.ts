/**
 * Request bodies → typed inputs. Consul decodes JSON with Go's encoding/json, which matches field
 * names case-insensitively, so struct fields are looked up that way here too (map contents such as
 * `Meta` keep their keys as sent). Decoding failures carry Consul's 400 wording.
 */
import { z } from 'zod';
import { OpError } from './catalog-kv-state';
import type { CheckInput, NodeInput, ServiceInput } from './catalog-ops';

/** A JSON object's struct fields, looked up case-insensitively. */
export function fields(value: unknown, what: string): Map<string, unknown> {
  if (value === null || value === undefined) return new Map();
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new OpError(`Request decode failed: json: cannot unmarshal ${jsonKind(value)} into Go value of type ${what}`, 400);
  }
  return new Map(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}

const str = z.string().nullish().transform((v) => v ?? '');
const num = z.number().int().nonnegative().nullish().transform((v) => v ?? 0);
const stringMap = z.record(z.string(), z.string()).nullish().transform((v) => v ?? {});
const stringList = z.array(z.string()).nullish().transform((v) => v ?? []);

const NOT_PLAIN = Symbol('not plain');

/** The common, valid cases of the four field schemas above, without zod (a txn has tens of thousands of fields). */
function plainField(schema: z.ZodType<unknown>, value: unknown): unknown {
  const isDefaulted = schema === str || schema === num || schema === stringMap || schema === stringList;
  if (!isDefaulted) return NOT_PLAIN;
  if (value === null || value === undefined) return schema === str ? '' : schema === num ? 0 : schema === stringMap ? {} : [];
  if (schema === str) return typeof value === 'string' ? value : NOT_PLAIN;
  if (schema === num) return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : NOT_PLAIN;
  if (schema === stringList) return Array.isArray(value) && value.every((v) => typeof v === 'string') ? [...value] : NOT_PLAIN;
  if (typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return NOT_PLAIN;
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.every(([k, v]) => typeof v === 'string' && k !== '__proto__') ? Object.fromEntries(entries) : NOT_PLAIN;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const plain = plainField(schema, value);
  if (plain !== NOT_PLAIN) return plain as T;
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue?.path.join('.') ?? '';
    throw new OpError(`Request decode failed: ${what}${at ? `.${at}` : ''}: ${issue?.message ?? 'invalid'}`, 400);
  }
  return result.data;
}

function get(f: Map<string, unknown>, name: string): unknown {
  return f.get(name.toLowerCase());
}

/**
 * Reads one Go struct's fields from a body: `read(schema, 'Name')` decodes field `Name` and names
 * it `{prefix}Name` in a decode error; `raw('Name')` is the field as sent.
 */
function structFields(value: unknown, goType: string, prefix: string) {
  const f = fields(value, goType);
  return {
    raw: (name: string): unknown => get(f, name),
    read: <T>(schema: z.ZodType<T>, name: string, sent: unknown = get(f, name)): T => parse(schema, sent, `${prefix}${name}`),
  };
}

export function decodeNode(value: unknown): NodeInput {
  const { raw, read } = structFields(value, 'structs.Node', 'Node.');
  return {
    id: read(str, 'ID'),
    node: read(str, 'Node'),
    address: read(str, 'Address'),
    datacenter: read(str, 'Datacenter'),
    taggedAddresses: read(stringMap, 'TaggedAddresses'),
    meta: read(stringMap, 'Meta', raw('Meta') ?? raw('NodeMeta')),
    modifyIndex: read(num, 'ModifyIndex'),
  };
}

const weights = z
  .unknown()
  .transform((v) => fields(v, 'structs.Weights'))
  .transform((f) => ({ Passing: Number(get(f, 'Passing') ?? 0), Warning: Number(get(f, 'Warning') ?? 0) }));

export function decodeService(value: unknown): ServiceInput {
  const { raw, read } = structFields(value, 'structs.NodeService', 'Service.');
  const sentWeights = raw('Weights');
  return {
    id: read(str, 'ID'),
    service: read(str, 'Service'),
    tags: read(stringList, 'Tags'),
    address: read(str, 'Address'),
    meta: read(stringMap, 'Meta'),
    port: read(num, 'Port'),
    weights: sentWeights === undefined || sentWeights === null ? null : read(weights, 'Weights', sentWeights),
    enableTagOverride: read(z.boolean().nullish().transform((v) => v ?? false), 'EnableTagOverride'),
    modifyIndex: read(num, 'ModifyIndex'),
  };
}

export function decodeCheck(value: unknown, defaultNode = ''): CheckInput {
  const { raw, read } = structFields(value, 'structs.HealthCheck', 'Check.');
  const name = read(str, 'Name');
  const checkId = read(str, 'CheckID');
  const definition = raw('Definition');
  return {
    node: read(str, 'Node') || defaultNode,
    // Consul's checkPreApply: a check without an ID takes its name as ID.
    checkId: checkId || name,
    name,
    status: read(str, 'Status'),
    notes: read(str, 'Notes'),
    output: read(str, 'Output'),
    serviceId: read(str, 'ServiceID'),
    type: read(str, 'Type'),
    definition: definition && typeof definition === 'object' && !Array.isArray(definition) ? (definition as Record<string, unknown>) : null,
    modifyIndex: read(num, 'ModifyIndex'),
  };
}

export interface RegisterInput {
  readonly node: NodeInput;
  readonly skipNodeUpdate: boolean;
  readonly service: ServiceInput | null;
  readonly checks: CheckInput[];
}

/** Body of PUT /v1/catalog/register (structs.RegisterRequest). */
export function decodeRegister(value: unknown): RegisterInput {
  const { raw } = structFields(value, 'structs.RegisterRequest', 'RegisterRequest.');
  const node = decodeNode(value);
  const serviceRaw = raw('Service');
  const checksRaw = raw('Checks');
  const checkRaw = raw('Check');
  const checks: CheckInput[] = [];
  if (Array.isArray(checksRaw)) checks.push(...checksRaw.map((c) => decodeCheck(c, node.node)));
  else if (checksRaw !== undefined && checksRaw !== null) throw new OpError('Request decode failed: json: cannot unmarshal object into Go struct field RegisterRequest.Checks of type structs.HealthChecks', 400);
  if (checkRaw !== undefined && checkRaw !== null) checks.push(decodeCheck(checkRaw, node.node));
  return {
    node,
    skipNodeUpdate: raw('SkipNodeUpdate') === true,
    service: serviceRaw === undefined || serviceRaw === null ? null : decodeService(serviceRaw),
    checks,
  };
}

export interface DeregisterInput {
  readonly node: string;
  readonly serviceId: string;
  readonly checkId: string;
}

export function decodeDeregister(value: unknown): DeregisterInput {
  const { read } = structFields(value, 'structs.DeregisterRequest', '');
  return {
    node: read(str, 'Node'),
    serviceId: read(str, 'ServiceID'),
    checkId: read(str, 'CheckID'),
  };
}

export function parseJsonBody(raw: string, what: string): unknown {
  if (raw.trim() === '') return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new OpError(`${what}: ${error instanceof Error ? error.message : String(error)}`, 400);
  }
}

export { get as field };
