/**
 * The `resource`, `data` and `provider` blocks of every `.tf` file under a directory, each as
 * hcl2json gives it (HashiCorp's parser: the authority on what the file holds) paired with its
 * outline (lines and syntax, from hcl-locator). Nested items are paired the same way by
 * `bodyItems`, which fails loudly when the two disagree, so a locator mistake cannot hide a
 * problem.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { outlineHcl, type OutlineBlock, type OutlineBody } from './hcl-locator';

export type Json = unknown;
export type JsonBody = Readonly<Record<string, Json>>;

/** One `.tf` file, read both ways. */
export interface TfFile {
  /** Path as given to the report (relative to the directory checked, with its name in front). */
  readonly file: string;
  /** The module (directory) it belongs to, as a path on disk. */
  readonly moduleDir: string;
  readonly text: string;
  readonly json: JsonBody;
  readonly outline: OutlineBody;
}

export interface TopBlock {
  /** Path as given to the report (relative to the directory checked, with its name in front). */
  readonly file: string;
  readonly moduleDir: string;
  readonly kind: 'resource' | 'data' | 'provider';
  /** Resource / data source type, or the provider's local name. */
  readonly type: string;
  /** Resource name (empty for a provider block). */
  readonly name: string;
  readonly json: JsonBody;
  readonly outline: OutlineBlock;
}

/** One item of a body: an attribute (`name = …`) or one block (`name "label" { … }`). */
export type BodyItem =
  | { readonly syntax: 'attribute'; readonly name: string; readonly line: number; readonly value: Json }
  | { readonly syntax: 'block'; readonly name: string; readonly labels: readonly string[]; readonly line: number; readonly json: JsonBody; readonly outline: OutlineBlock };

export class PairingError extends Error {}

const asArray = (value: Json): Json[] => (Array.isArray(value) ? value : [value]);

/** hcl2json nests a labelled block's bodies under its labels: `{ label: [ body ] }`. */
function jsonBodiesFor(value: Json, labels: readonly string[]): JsonBody[] {
  let at: Json = value;
  for (const label of labels) at = (at as Record<string, Json> | undefined)?.[label];
  return asArray(at).filter((b): b is JsonBody => typeof b === 'object' && b !== null);
}

/**
 * The items of a body in source order, each with its line. Throws PairingError when hcl2json and
 * the outline disagree about which names the body holds.
 */
export function bodyItems(file: string, json: JsonBody, outline: OutlineBody): BodyItem[] {
  const items: BodyItem[] = [];
  const seenBlocks = new Map<string, number>();
  for (const [name, line] of outline.attributes) {
    if (!(name in json)) throw new PairingError(`${file}:${line}: the outline has attribute ${name}, hcl2json does not`);
    items.push({ syntax: 'attribute', name, line, value: json[name] });
  }
  for (const block of outline.blocks) {
    const bodies = jsonBodiesFor(json[block.type], block.labels);
    // The n-th block with these labels in the text is the n-th body hcl2json lists for them.
    const key = `${block.type}\u0000${block.labels.join('\u0000')}`;
    const index = seenBlocks.get(key) ?? 0;
    seenBlocks.set(key, index + 1);
    const body = bodies[index];
    if (!body) throw new PairingError(`${file}:${block.line}: the outline has block ${[block.type, ...block.labels].join(' ')} #${index + 1}, hcl2json does not`);
    items.push({ syntax: 'block', name: block.type, labels: block.labels, line: block.line, json: body, outline: block });
  }
  const located = new Set(items.map((item) => item.name));
  const unlocated = Object.keys(json).filter((name) => !located.has(name));
  if (unlocated.length > 0) throw new PairingError(`${file}:${outline.endLine}: hcl2json has ${unlocated.join(', ')} which the outline did not find`);
  return items.sort((a, b) => a.line - b.line);
}

function tfFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) {
      if (!entry.startsWith('.')) found.push(...tfFiles(full));
    } else if (entry.endsWith('.tf')) found.push(full);
  }
  return found;
}

/** Every `.tf` file under `dir` (modules included), parsed by hcl2json and outlined. */
export async function loadTfFiles(dir: string): Promise<TfFile[]> {
  const files: TfFile[] = [];
  for (const full of tfFiles(dir)) {
    const file = path.join(path.basename(dir), path.relative(dir, full));
    const text = readFileSync(full, 'utf8');
    const json = (await parse(file, text)) as JsonBody;
    files.push({ file, moduleDir: path.dirname(full), text, json, outline: outlineHcl(file, text) });
  }
  return files;
}

/** Every resource, data and provider block of the files. */
export function topBlocks(files: readonly TfFile[]): TopBlock[] {
  const result: TopBlock[] = [];
  for (const { file, moduleDir, json, outline } of files) {
    for (const item of bodyItems(file, json, outline)) {
      if (item.syntax !== 'block') continue;
      if ((item.name === 'resource' || item.name === 'data') && item.labels.length === 2) {
        const [type = '', name = ''] = item.labels;
        result.push({ file, moduleDir, kind: item.name, type, name, json: item.json, outline: item.outline });
      } else if (item.name === 'provider' && item.labels.length === 1) {
        result.push({ file, moduleDir, kind: 'provider', type: item.labels[0] ?? '', name: '', json: item.json, outline: item.outline });
      }
    }
  }
  return result;
}
