/**
 * Files the code reads at run time (the .proto files under `proto/`), found the same way from the
 * TypeScript sources (src/…), the compiled CLI (dist/cli/…), an installed package and the packaged
 * Functions app (which carries its own `proto/` next to its bundle): in the package root, the
 * nearest folder upwards that holds a package.json. Only there, so a stray copy in between (an
 * old build's dist/proto, say) can never shadow the package's own file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The package root at or above `from`: the nearest folder with a package.json. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json in ${from} or any folder above it (is the package complete?)`);
  }
}

/** The absolute path of `relative` (e.g. `proto/vmss_mesh/relay/v1/push.proto`) in the package root of `from`. */
export function packageFile(relative: string, from: string = __dirname): string {
  const root = packageRoot(from);
  const file = path.join(root, relative);
  if (!existsSync(file)) throw new Error(`${relative} is missing from the package at ${root} (is the package complete?)`);
  return file;
}
