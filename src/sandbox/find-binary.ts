import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** The executable `name` on the PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Which Azure Functions Core Tools `func` the sandbox runs, and the sentence that says so. */
export type FuncChoice =
  | { readonly binary: string; readonly source: 'node_modules' | 'PATH'; readonly says: string }
  | { readonly binary?: undefined; readonly says: string };

export interface FuncLookupOptions {
  /** Where the search for node_modules/.bin/func starts, going upwards (default: this module's folder). */
  readonly from?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const FUNC = process.platform === 'win32' ? 'func.cmd' : 'func';

/**
 * Core Tools' `func`, in this order: the project's own (node_modules/.bin/func, from the optional
 * dependency azure-functions-core-tools) when its download completed, then `func` on the PATH,
 * else none, and the sandbox serves the app with its local host. The package's `func` is a Node
 * launcher of the binary its install script downloads into the package's bin/; without that
 * binary (the download failed, or install scripts were skipped) the launcher would try the
 * download again at every start, so it is passed over, and the sentence says why.
 */
export function findFuncBinary(options: FuncLookupOptions = {}): FuncChoice {
  const env = options.env ?? process.env;
  let passedOver = 'node_modules/.bin/func absent';
  const local = nearestBinLink(path.resolve(options.from ?? __dirname), FUNC);
  if (local) {
    const downloaded = coreToolsBinary(local);
    if (downloaded.ok) return { binary: local, source: 'node_modules', says: `func start (${local}: Core Tools ${downloaded.version} from the optional dependency)` };
    passedOver = `${local} passed over: ${downloaded.why}`;
  }
  const onPath = findOnPath(FUNC, env);
  if (onPath) return { binary: onPath, source: 'PATH', says: `func start (${onPath}, on the PATH; ${passedOver})` };
  return { says: `the local host (the routes of func start; no Core Tools: ${passedOver}, no func on the PATH)` };
}

function nearestBinLink(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '.bin', name);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Whether the launcher `link` points into an azure-functions-core-tools package whose binary was downloaded. */
function coreToolsBinary(link: string): { ok: true; version: string } | { ok: false; why: string } {
  let packageDir: string;
  try {
    // node_modules/.bin/func → node_modules/azure-functions-core-tools/lib/main.js (a symlink; on Windows a .cmd shim next to it).
    packageDir = process.platform === 'win32' ? path.join(path.dirname(link), '..', 'azure-functions-core-tools') : path.dirname(path.dirname(realpathSync(link)));
  } catch (error) {
    return { ok: false, why: `it does not resolve (${(error as Error).message})` };
  }
  let manifest: { name?: string; version?: string };
  try {
    manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as typeof manifest;
  } catch {
    return { ok: false, why: `it is not part of an npm package (${packageDir})` };
  }
  if (manifest.name !== 'azure-functions-core-tools') return { ok: false, why: `it belongs to ${manifest.name ?? 'an unnamed package'}, not azure-functions-core-tools` };
  const binary = path.join(packageDir, 'bin', process.platform === 'win32' ? 'func.exe' : 'func');
  if (!isExecutable(binary)) return { ok: false, why: `azure-functions-core-tools ${manifest.version ?? ''} has no downloaded binary (${binary}: its install script did not run or its download failed)` };
  return { ok: true, version: manifest.version ?? 'unknown version' };
}
