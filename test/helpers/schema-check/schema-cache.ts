/**
 * Loads a provider schema from its CDK package, once: the azurerm `.jsii` is 88 MB of JSON (about
 * a second to parse), so the derived schema (about 1.8 MB for azurerm) is cached on disk under
 * node_modules/.cache (or the OS temp dir when that is not writable), keyed by the package
 * version, the `.jsii` size and time, and a hash of the reader's own source. The cache is derived
 * data: never committed, rebuilt when the package or the reader changes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { schemaFromAssembly, type JsiiAssembly } from './jsii-schema';
import type { ProviderSchema } from './provider-schema';

/** Changes whenever the reading rules or the derived format change. */
const READER_HASH = createHash('sha256')
  .update(['jsii-schema.ts', 'provider-schema.ts'].map((f) => readFileSync(path.join(__dirname, f), 'utf8')).join('\0'))
  .digest('hex')
  .slice(0, 12);
const REPO_ROOT = path.resolve(__dirname, '../../..');

export interface LoadedSchema {
  readonly schema: ProviderSchema;
  /** Where it came from: `cache` (derived file read) or `jsii` (the assembly parsed now). */
  readonly from: 'cache' | 'jsii';
  readonly cacheFile: string | undefined;
}

function cacheDirs(): string[] {
  return [path.join(REPO_ROOT, 'node_modules', '.cache', 'vmss-mesh-terraform-schema'), path.join(os.tmpdir(), 'vmss-mesh-terraform-schema')];
}

function tryRead(file: string): ProviderSchema | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProviderSchema;
  } catch {
    return undefined;
  }
}

function tryWrite(file: string, schema: ProviderSchema, stalePrefix: string): boolean {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    // Write then rename: parallel test processes never read a half-written file.
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(schema));
    renameSync(temporary, file);
    // Older derivations of the same package (another version, an older reader) are garbage now.
    for (const old of readdirSync(path.dirname(file))) {
      if (old !== path.basename(file) && old.startsWith(stalePrefix) && old.endsWith('.json')) rmSync(path.join(path.dirname(file), old), { force: true });
    }
    return true;
  } catch {
    return false;
  }
}

const loaded = new Map<string, LoadedSchema>();

/** The schema of the CDK provider package `packageName` (e.g. `@cdktf/provider-azurerm`). */
export function loadProviderSchema(packageName: string, options: { cache?: boolean } = {}): LoadedSchema {
  const useCache = options.cache ?? true;
  const memo = loaded.get(packageName);
  if (memo && useCache) return memo;
  const packageDir = path.dirname(require.resolve(`${packageName}/package.json`, { paths: [REPO_ROOT] }));
  const jsiiFile = path.join(packageDir, '.jsii');
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const stat = statSync(jsiiFile);
  const slug = `${packageName.replace(/[@/]/g, '_')}@`;
  const key = `${slug}${version}-${stat.size}-${Math.floor(stat.mtimeMs)}-${READER_HASH}.json`;
  const files = cacheDirs().map((dir) => path.join(dir, key));
  if (useCache) {
    for (const file of files) {
      const schema = tryRead(file);
      if (schema) {
        const result: LoadedSchema = { schema, from: 'cache', cacheFile: file };
        loaded.set(packageName, result);
        return result;
      }
    }
  }
  const assembly = JSON.parse(readFileSync(jsiiFile, 'utf8')) as JsiiAssembly;
  const schema = schemaFromAssembly(assembly);
  const cacheFile = useCache ? files.find((file) => tryWrite(file, schema, slug)) : undefined;
  const result: LoadedSchema = { schema, from: 'jsii', cacheFile };
  if (useCache) loaded.set(packageName, result);
  return result;
}
