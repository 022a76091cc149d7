/**
 * References to resources and data sources in expressions, checked as `terraform validate` does
 * before any value is known: the resource is declared in the same module; the attribute (and,
 * through a nested block, the attribute under it) exists in the schema; a resource with `count`
 * or `for_each` is reached through an instance key (`x.y[0].id`, `x.y[*].id`), one without them
 * is not.
 */
import type { Json, JsonBody, TfFile, TopBlock } from './hcl-blocks';
import { lineAt, withoutComments } from './hcl-locator';
import type { BodySchema, ProviderSchema } from './provider-schema';
import { isComputed, suggestion, type Problem } from './rules';

/** Every string of a parsed file that holds an expression (`${…}`). */
function expressionStrings(value: Json, into: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.includes('${')) into.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) expressionStrings(item, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value as JsonBody)) expressionStrings(item, into);
  }
  return into;
}

function schemaFor(kind: 'resource' | 'data', type: string, schemas: ReadonlyMap<string, ProviderSchema>): BodySchema | undefined {
  const provider = schemas.get(type.split('_')[0] ?? '');
  return kind === 'resource' ? provider?.resources[type] : provider?.dataSources[type];
}

function has(schema: BodySchema, name: string): boolean {
  return name in schema.attributes || name in schema.blocks || isComputed(schema, name);
}

export function checkReferences(files: readonly TfFile[], blocks: readonly TopBlock[], schemas: ReadonlyMap<string, ProviderSchema>): Problem[] {
  const prefixes = [...schemas.keys()].join('|');
  // (data.)type.name [keys] (.attr [keys] (.attr))
  const reference = new RegExp(`(?<![\\w.-])(data\\.)?((?:${prefixes})_[a-z0-9_]+)\\.([A-Za-z_][A-Za-z0-9_-]*)((?:\\[[^\\]]*\\])*)(?:\\.([A-Za-z_][A-Za-z0-9_]*)((?:\\[[^\\]]*\\])*)(?:\\.([A-Za-z_][A-Za-z0-9_]*))?)?`, 'g');
  const declared = new Map<string, TopBlock>();
  for (const block of blocks) {
    if (block.kind !== 'provider') declared.set(`${block.moduleDir}\u0000${block.kind === 'data' ? 'data.' : ''}${block.type}.${block.name}`, block);
  }
  const problems: Problem[] = [];
  for (const file of files) {
    const code = withoutComments(file.file, file.text);
    const reported = new Set<string>();
    for (const expression of expressionStrings(file.json)) {
      for (const match of expression.matchAll(reference)) {
        const [text, dataPrefix, type = '', name = '', keys = '', attribute, innerKeys = '', inner] = match;
        const address = `${dataPrefix ? 'data.' : ''}${type}.${name}`;
        const message = referenceProblem(declared.get(`${file.moduleDir}\u0000${address}`), address, keys, attribute, innerKeys, inner, schemas);
        if (!message || reported.has(text)) continue;
        reported.add(text);
        const at = code.indexOf(text);
        problems.push({ file: file.file, line: at < 0 ? 1 : lineAt(code, at), address, message: `${message} (in ${text})` });
      }
    }
  }
  return problems;
}

function referenceProblem(
  target: TopBlock | undefined,
  address: string,
  keys: string,
  attribute: string | undefined,
  innerKeys: string,
  inner: string | undefined,
  schemas: ReadonlyMap<string, ProviderSchema>,
): string | undefined {
  if (!target) return `reference to ${address}, which this module does not declare`;
  const repeated = 'count' in target.json || 'for_each' in target.json;
  if (attribute !== undefined && repeated && keys === '') return `${address} has ${'count' in target.json ? 'count' : 'for_each'}: its attributes are reached through an instance key (${address}[…].${attribute})`;
  if (!repeated && keys !== '') return `${address} has neither count nor for_each: no instance key ${keys}`;
  if (attribute === undefined) return undefined;
  const schema = schemaFor(target.kind === 'data' ? 'data' : 'resource', target.type, schemas);
  // Unknown types are reported where they are declared.
  if (!schema) return undefined;
  if (!has(schema, attribute)) return `${target.type} has no attribute ${attribute}${suggestion(attribute, [...Object.keys(schema.attributes), ...Object.keys(schema.blocks), ...schema.computed])}`;
  const nested = schema.blocks[attribute];
  if (nested && inner !== undefined) {
    // Nested blocks are lists in Terraform, even those allowing one block (SDKv2 MaxItems 1).
    if (innerKeys === '') return `${attribute} of ${target.type} is a list of blocks: reach ${inner} through an index (${attribute}[0].${inner})`;
    if (!has(nested.body, inner)) return `${attribute} of ${target.type} has no attribute ${inner}${suggestion(inner, [...Object.keys(nested.body.attributes), ...Object.keys(nested.body.blocks), ...nested.body.computed])}`;
  }
  return undefined;
}
