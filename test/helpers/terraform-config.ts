/**
 * Reads infra/ the way Terraform would, without Terraform: every `.tf` file parsed by HashiCorp's
 * own HCL parser (compiled to wasm, @cdktf/hcl2json), merged per module directory. Expressions
 * come back as strings (`"${var.x}"`); the helpers here find references in them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const INFRA = path.resolve(__dirname, '../../infra');

type Json = unknown;
export type Block = Readonly<Record<string, Json>>;

export interface TerraformModule {
  /** Directory relative to infra/ (`.` for the root module). */
  readonly dir: string;
  readonly files: readonly string[];
  /** variable name → its block. */
  readonly variables: ReadonlyMap<string, Block>;
  /** Every `locals` entry of the module. */
  readonly locals: Readonly<Record<string, Json>>;
  /** `type.name` → block (the first, Terraform allows one). */
  readonly resources: ReadonlyMap<string, Block>;
  readonly data: ReadonlyMap<string, Block>;
  /** module call name → its block. */
  readonly modules: ReadonlyMap<string, Block>;
  readonly outputs: ReadonlyMap<string, Block>;
  /** Every string anywhere in the module's `.tf` files (expressions included). */
  readonly strings: readonly string[];
}

export function moduleDirs(): string[] {
  const modules = readdirSync(path.join(INFRA, 'modules')).filter((d) => statSync(path.join(INFRA, 'modules', d)).isDirectory());
  return ['.', ...modules.map((d) => `modules/${d}`)];
}

const first = (value: Json): Block => (Array.isArray(value) ? (value[0] as Block) : (value as Block));

export async function loadModule(dir: string): Promise<TerraformModule> {
  const abs = path.join(INFRA, dir);
  const files = readdirSync(abs).filter((f) => f.endsWith('.tf')).sort();
  const variables = new Map<string, Block>();
  const locals: Record<string, Json> = {};
  const resources = new Map<string, Block>();
  const data = new Map<string, Block>();
  const modules = new Map<string, Block>();
  const outputs = new Map<string, Block>();
  const strings: string[] = [];
  for (const file of files) {
    const parsed = (await parse(file, readFileSync(path.join(abs, file), 'utf8'))) as Record<string, Record<string, Json>>;
    for (const [name, block] of Object.entries(parsed['variable'] ?? {})) variables.set(name, first(block));
    for (const block of (parsed['locals'] as unknown as Block[] | undefined) ?? []) Object.assign(locals, block);
    for (const [type, byName] of Object.entries(parsed['resource'] ?? {})) {
      for (const [name, block] of Object.entries(byName as Record<string, Json>)) resources.set(`${type}.${name}`, first(block));
    }
    for (const [type, byName] of Object.entries(parsed['data'] ?? {})) {
      for (const [name, block] of Object.entries(byName as Record<string, Json>)) data.set(`${type}.${name}`, first(block));
    }
    for (const [name, block] of Object.entries(parsed['module'] ?? {})) modules.set(name, first(block));
    for (const [name, block] of Object.entries(parsed['output'] ?? {})) outputs.set(name, first(block));
    collectStrings(parsed, strings);
  }
  return { dir, files, variables, locals, resources, data, modules, outputs, strings };
}

export async function loadAll(): Promise<Map<string, TerraformModule>> {
  const all = new Map<string, TerraformModule>();
  for (const dir of moduleDirs()) all.set(dir, await loadModule(dir));
  return all;
}

function collectStrings(value: Json, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      into.push(key);
      collectStrings(item, into);
    }
  }
}

/** Names after `var.` in expressions (only inside `${…}` strings: descriptions are prose). */
export function variableReferences(strings: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const s of strings) {
    if (!s.includes('${')) continue;
    for (const match of s.matchAll(/(?<![\w.])var\.([A-Za-z_][A-Za-z0-9_-]*)/g)) names.add(match[1] ?? '');
  }
  return names;
}

/** Nested block access: hcl2json renders every block as an array of objects. */
export function blocks(parent: Block | undefined, name: string): Block[] {
  const value = parent?.[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]) as Block[];
}

export function block(parent: Block | undefined, name: string): Block {
  const [only] = blocks(parent, name);
  if (!only) throw new Error(`no ${name} block`);
  return only;
}

/** `${var.x}` → `x`; anything else → undefined. */
export function plainVariable(expression: Json): string | undefined {
  return typeof expression === 'string' ? /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/.exec(expression)?.[1] : undefined;
}

/**
 * The keys of the object passed to `templatefile("${path.module}/<file>", { … })` in an
 * expression, and the file name.
 */
export function templatefileCall(expression: string): { file: string; keys: string[] } {
  const call = /templatefile\("\$\{path\.module\}\/([^"]+)",\s*\{([\s\S]*?)\n\s*\}\)/.exec(expression);
  if (!call?.[1] || call[2] === undefined) throw new Error(`no templatefile(...) call in ${expression.slice(0, 80)}`);
  const keys = [...call[2].matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((m) => m[1] ?? '');
  return { file: call[1], keys };
}

/** Placeholders `${name}` of a template (`$${` is a literal `${`). */
export function templatePlaceholders(template: string): Set<string> {
  const names = new Set<string>();
  for (const match of template.matchAll(/(?<!\$)\$\{([^}]*)\}/g)) names.add((match[1] ?? '').trim());
  return names;
}

/** What `templatefile` does for templates that only interpolate plain names. */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/(\$?)\$\{([^}]*)\}/g, (whole, escaped: string, name: string) => {
    if (escaped) return whole.slice(1);
    const value = values[name.trim()];
    if (value === undefined) throw new Error(`template needs a value for ${name}`);
    return value;
  });
}
