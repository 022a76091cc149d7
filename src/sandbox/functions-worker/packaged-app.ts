/**
 * Where the packaged Functions app is (`npm run package` / `npm run build` write
 * dist/functions-app: host.json, package.json, main.js, proto/), found from this file upwards so
 * the sources and the compiled CLI find the same folder. In a checkout (the build script is at
 * hand) the package is brought up to date first, once per process: the script rebuilds only
 * when an input changed (~0.5 s when nothing did), so the local host never serves a bundle older
 * than the sources. Elsewhere (an installed CLI) the package is used as it is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const PACKAGED_APP = path.join('dist', 'functions-app');
const BUILD_SCRIPT = path.join('build', 'functions-app.mjs');

export class PackagedAppMissingError extends Error {
  override readonly name = 'PackagedAppMissingError';
}

export interface PackagedApp {
  readonly directory: string;
  /** Set when the package could not be brought up to date and an older one is used. */
  readonly warning?: string;
}

const checked = new Map<string, PackagedApp>();

export function packagedApp(from: string = __dirname): PackagedApp {
  const script = findUp(BUILD_SCRIPT, from);
  const root = script ? path.dirname(path.dirname(script)) : undefined;
  const key = root ?? from;
  const known = checked.get(key);
  if (known) return known;
  let found: PackagedApp;
  if (script && root) {
    const directory = path.join(root, PACKAGED_APP);
    const built = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8', env: { ...process.env, VMSS_MESH_BUILD_QUIET: '1' } });
    const failure = built.status === 0 ? undefined : (built.stderr || built.stdout || String(built.error ?? `exit ${built.status}`)).trim();
    const present = existsSync(path.join(directory, 'package.json'));
    if (failure && !present) throw new PackagedAppMissingError(`building the Functions package (node ${BUILD_SCRIPT}) failed: ${failure}`);
    found = failure ? { directory, warning: `building the Functions package failed, serving the previous one (${failure.split('\n')[0]})` } : { directory };
  } else {
    const packageJson = findUp(path.join(PACKAGED_APP, 'package.json'), from);
    if (!packageJson) throw new PackagedAppMissingError(`the packaged Functions app (${PACKAGED_APP}/) was not found above ${from}: build it with \`npm run build\` (or \`npm run package\`) in the vmss-mesh checkout`);
    found = { directory: path.dirname(packageJson) };
  }
  checked.set(key, found);
  return found;
}

/** The packaged app's folder (see packagedApp). */
export function packagedAppDirectory(from: string = __dirname): string {
  return packagedApp(from).directory;
}

function findUp(relative: string, from: string): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}
