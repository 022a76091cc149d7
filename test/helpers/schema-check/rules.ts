/**
 * The rules: each block of a configuration compared with the provider's schema at that place.
 * Terraform's own meta-arguments (count, for_each, depends_on, provider, lifecycle, provisioner,
 * connection, dynamic) are checked here as Terraform defines them, not looked up in the provider.
 */
import { bodyItems, type BodyItem, type JsonBody, type TopBlock } from './hcl-blocks';
import type { OutlineBlock } from './hcl-locator';
import type { BodySchema, ProviderSchema, ValueKind } from './provider-schema';

export interface Problem {
  readonly file: string;
  readonly line: number;
  /** `azurerm_subnet.gateway`, `data.azurerm_client_config.current`, `provider.azurerm`. */
  readonly address: string;
  readonly message: string;
}

export const formatProblem = (p: Problem): string => `${p.file}:${p.line}: ${p.address}: ${p.message}`;

type Level = 'resource' | 'data' | 'provider' | 'nested';

const META_ATTRIBUTES: Record<Level, readonly string[]> = {
  resource: ['count', 'for_each', 'depends_on', 'provider'],
  data: ['count', 'for_each', 'depends_on', 'provider'],
  provider: ['alias', 'version'],
  nested: [],
};
const LIFECYCLE_ATTRIBUTES: Record<'resource' | 'data', readonly string[]> = {
  resource: ['create_before_destroy', 'prevent_destroy', 'ignore_changes', 'replace_triggered_by'],
  data: [],
};
const CONDITION_BLOCKS = ['precondition', 'postcondition'];

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** ` (did you mean x?)` when one candidate is close enough to be the intended name. */
export function suggestion(name: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

/**
 * Why a literal cannot convert to the argument's kind (Terraform converts between string, number
 * and bool where the text allows it, never between a scalar and a collection). Expressions are
 * not evaluated: any string holding an interpolation or directive is left alone.
 */
export function literalMismatch(value: unknown, kind: ValueKind): string | undefined {
  if (kind === 'any' || value === null || value === undefined) return undefined;
  const describe = Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : typeof value === 'string' ? `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"` : `${typeof value === 'boolean' ? 'the bool' : 'the number'} ${String(value)}`;
  if (typeof value === 'string' && /[$%]\{/.test(value)) return undefined;
  const ok = (() => {
    switch (kind) {
      case 'list':
        return Array.isArray(value);
      case 'map':
        return typeof value === 'object' && !Array.isArray(value);
      case 'string':
        return typeof value !== 'object';
      case 'number':
        return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)));
      case 'bool':
        return typeof value === 'boolean' || value === 'true' || value === 'false';
    }
  })();
  return ok ? undefined : `${describe} where ${kind === 'list' ? 'a list' : kind === 'map' ? 'a map' : `a ${kind}`} is required`;
}

/**
 * Computed-only names come from CDK getter names (`instance0BgpPeeringAddress`), which do not say
 * where Terraform's underscores were (`instance_0_bgp_peering_address`): compare without them.
 */
const squash = (name: string): string => name.replace(/_/g, '').toLowerCase();
export function isComputed(schema: BodySchema, name: string): boolean {
  const wanted = squash(name);
  return schema.computed.some((computed) => squash(computed) === wanted);
}

/** Where else in a schema a nested block of this name lives, as `a.b` paths. */
function placesOf(name: string, body: BodySchema, prefix = ''): string[] {
  const found: string[] = [];
  for (const [blockName, nested] of Object.entries(body.blocks)) {
    const here = prefix ? `${prefix}.${blockName}` : blockName;
    if (nested.body.blocks[name] || nested.body.attributes[name]) found.push(here);
    found.push(...placesOf(name, nested.body, here));
  }
  if (!prefix && (body.blocks[name] || body.attributes[name])) found.unshift('the top level');
  return found;
}

class BlockChecker {
  readonly problems: Problem[] = [];

  constructor(
    private readonly top: TopBlock,
    private readonly address: string,
    private readonly rootSchema: BodySchema,
    private readonly strictCardinality: boolean,
  ) {}

  private report(line: number, message: string): void {
    this.problems.push({ file: this.top.file, line, address: this.address, message });
  }

  checkBody(schema: BodySchema, json: JsonBody, outline: OutlineBlock, level: Level, where: string): void {
    const items = bodyItems(this.top.file, json, outline.body);
    const counts = new Map<string, number>();
    const count = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
    const at = where ? ` in ${where}` : '';
    for (const item of items) {
      if (item.syntax === 'attribute') {
        if (META_ATTRIBUTES[level].includes(item.name)) continue;
        count(item.name);
        this.checkAttribute(schema, item, at);
        continue;
      }
      if (level === 'resource' || level === 'data') {
        if (item.name === 'lifecycle') {
          this.checkLifecycle(item, level);
          continue;
        }
        if (level === 'resource' && (item.name === 'provisioner' || item.name === 'connection')) continue;
      }
      if (item.name === 'dynamic' && level !== 'provider') {
        const label = item.labels[0] ?? '';
        count(label);
        this.checkDynamic(schema, item, label, where);
        continue;
      }
      count(item.name);
      this.checkBlock(schema, item, where);
    }

    const blockLine = outline.line;
    if (level === 'resource' || level === 'data') {
      const forEach = items.find((i) => i.syntax === 'attribute' && i.name === 'for_each');
      if (forEach && items.some((i) => i.syntax === 'attribute' && i.name === 'count')) this.report(forEach.line, 'count and for_each cannot both be set');
    }
    for (const [name, attribute] of Object.entries(schema.attributes)) {
      if (attribute.required && !counts.has(name)) this.report(blockLine, `missing required argument ${name}${at}`);
    }
    if (!this.strictCardinality) return;
    for (const [name, nested] of Object.entries(schema.blocks)) {
      const n = counts.get(name) ?? 0;
      if (nested.required && n === 0) this.report(blockLine, `missing required block ${name}${at}`);
      const second = items.filter((i) => i.syntax === 'block' && i.name === name)[1];
      if (nested.maxOne && second) this.report(second.line, `at most one ${name} block is allowed${at}`);
    }
  }

  private checkAttribute(schema: BodySchema, item: Extract<BodyItem, { syntax: 'attribute' }>, at: string): void {
    const attribute = schema.attributes[item.name];
    if (attribute) {
      if (attribute.required && item.value === null) this.report(item.line, `required argument ${item.name}${at} is null`);
      const mismatch = literalMismatch(item.value, attribute.kind);
      if (mismatch) this.report(item.line, `${item.name}${at}: ${mismatch}`);
      return;
    }
    const nested = schema.blocks[item.name];
    if (nested) {
      if (nested.syntax === 'block') this.report(item.line, `${item.name} is a block${at}: write ${item.name} { … }, not ${item.name} = …`);
      return;
    }
    if (isComputed(schema, item.name)) {
      this.report(item.line, `${item.name} is computed-only${at} (the provider sets it); it cannot be set`);
      return;
    }
    this.report(item.line, `unknown argument ${item.name}${at}${suggestion(item.name, [...Object.keys(schema.attributes), ...Object.keys(schema.blocks)])}`);
  }

  private checkBlock(schema: BodySchema, item: Extract<BodyItem, { syntax: 'block' }>, where: string): void {
    const path = where ? `${where}.${item.name}` : item.name;
    const nested = schema.blocks[item.name];
    if (nested) {
      if (item.labels.length > 0) this.report(item.line, `block ${item.name} takes no labels`);
      this.checkBody(nested.body, item.json, item.outline, 'nested', path);
      return;
    }
    const at = where ? ` in ${where}` : '';
    if (schema.attributes[item.name]) {
      this.report(item.line, `${item.name} is an argument${at}, not a block: write ${item.name} = …`);
      return;
    }
    if (isComputed(schema, item.name)) {
      this.report(item.line, `${item.name} is computed-only${at} (the provider sets it); it cannot be set`);
      return;
    }
    const elsewhere = placesOf(item.name, this.rootSchema).filter((p) => p !== where && !(p === 'the top level' && where === ''));
    const hint = elsewhere.length > 0 ? ` (the schema has ${item.name} in ${elsewhere.join(', ')})` : suggestion(item.name, Object.keys(schema.blocks));
    this.report(item.line, `unknown block ${item.name}${at}${hint}`);
  }

  private checkDynamic(schema: BodySchema, item: Extract<BodyItem, { syntax: 'block' }>, label: string, where: string): void {
    const at = where ? ` in ${where}` : '';
    if (item.labels.length !== 1) {
      this.report(item.line, 'a dynamic block takes exactly one label: the block type it generates');
      return;
    }
    const parts = bodyItems(this.top.file, item.json, item.outline.body);
    for (const part of parts) {
      const allowed = part.syntax === 'attribute' ? ['for_each', 'iterator', 'labels'] : ['content'];
      if (!allowed.includes(part.name)) this.report(part.line, `dynamic "${label}": unexpected ${part.name} (a dynamic block holds for_each, iterator, labels and content)`);
    }
    if (!parts.some((p) => p.name === 'for_each')) this.report(item.line, `dynamic "${label}": missing for_each`);
    const contents = parts.filter((p): p is Extract<BodyItem, { syntax: 'block' }> => p.syntax === 'block' && p.name === 'content');
    if (contents.length !== 1) this.report(item.line, `dynamic "${label}": needs exactly one content block`);
    const nested = schema.blocks[label];
    if (!nested) {
      const kind = schema.attributes[label] ? 'an argument' : isComputed(schema, label) ? 'computed-only' : 'not known';
      this.report(item.line, `dynamic "${label}": ${label} is ${kind}${at}, dynamic only generates blocks${kind === 'not known' ? suggestion(label, Object.keys(schema.blocks)) : ''}`);
      return;
    }
    for (const content of contents) this.checkBody(nested.body, content.json, content.outline, 'nested', where ? `${where}.${label}` : label);
  }

  private checkLifecycle(item: Extract<BodyItem, { syntax: 'block' }>, level: 'resource' | 'data'): void {
    for (const part of bodyItems(this.top.file, item.json, item.outline.body)) {
      if (part.syntax === 'block') {
        if (!CONDITION_BLOCKS.includes(part.name)) {
          this.report(part.line, `lifecycle: unknown block ${part.name}`);
          continue;
        }
        const keys = bodyItems(this.top.file, part.json, part.outline.body);
        for (const key of keys) if (key.syntax !== 'attribute' || !['condition', 'error_message'].includes(key.name)) this.report(key.line, `lifecycle ${part.name}: unexpected ${key.name}`);
        for (const needed of ['condition', 'error_message']) if (!keys.some((k) => k.name === needed)) this.report(part.line, `lifecycle ${part.name}: missing ${needed}`);
        continue;
      }
      if (!LIFECYCLE_ATTRIBUTES[level].includes(part.name)) {
        this.report(part.line, `lifecycle: unknown argument ${part.name}${level === 'data' ? ' (a data block\u2019s lifecycle holds only precondition and postcondition)' : ''}`);
        continue;
      }
      if (part.name === 'ignore_changes') this.checkIgnoreChanges(part.value, part.line);
    }
  }

  /** `ignore_changes = [a, b.c]`: Terraform rejects names the resource type does not have. */
  private checkIgnoreChanges(value: unknown, line: number): void {
    if (value === '${all}' || value === 'all') return;
    for (const entry of Array.isArray(value) ? value : []) {
      const name = /^\$\{([A-Za-z_][A-Za-z0-9_-]*)/.exec(String(entry))?.[1] ?? String(entry);
      const schema = this.rootSchema;
      if (schema.attributes[name] || schema.blocks[name] || isComputed(schema, name)) continue;
      this.report(line, `lifecycle ignore_changes: ${name} is not an attribute of ${this.top.type}${suggestion(name, Object.keys(schema.attributes))}`);
    }
  }
}

/** `azurerm_subnet.gateway`, `data.azurerm_client_config.current`, `provider.azurerm`. */
export function addressOf(top: TopBlock): string {
  return top.kind === 'resource' ? `${top.type}.${top.name}` : top.kind === 'data' ? `data.${top.type}.${top.name}` : `provider.${top.type}`;
}

/** The problems of one top-level block against the schemas known by provider local name. */
export function checkTopBlock(top: TopBlock, schemas: ReadonlyMap<string, ProviderSchema>): Problem[] {
  const address = addressOf(top);
  const providerName = top.kind === 'provider' ? top.type : top.type.split('_')[0] ?? '';
  const provider = schemas.get(providerName);
  if (!provider) {
    const known = [...schemas.keys()].join(', ');
    return [{ file: top.file, line: top.outline.line, address, message: `no schema for provider ${providerName} to check against (known: ${known})` }];
  }
  let schema: BodySchema | undefined;
  if (top.kind === 'provider') schema = provider.providerConfig;
  else {
    const table = top.kind === 'resource' ? provider.resources : provider.dataSources;
    schema = table[top.type];
    if (!schema) {
      const other = top.kind === 'resource' ? provider.dataSources[top.type] : provider.resources[top.type];
      const hint = other ? ` (${top.type} is a ${top.kind === 'resource' ? 'data source' : 'resource'} type)` : suggestion(top.type, Object.keys(table));
      const what = top.kind === 'resource' ? 'resource type' : 'data source';
      return [{ file: top.file, line: top.outline.line, address, message: `${provider.provider} ${provider.version} has no ${what} ${top.type}${hint}` }];
    }
  }
  // The CDK types provider blocks loosely (every block optional, a list): there only names are checked.
  const checker = new BlockChecker(top, address, schema, top.kind !== 'provider');
  checker.checkBody(schema, top.json, top.outline, top.kind, '');
  return checker.problems;
}
