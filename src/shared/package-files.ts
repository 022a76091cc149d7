/**
 * Files the code reads at run time (the .proto files under `proto/`), found the same way from the
 * TypeScript sources (src/…), the compiled CLI (dist/cli/…) and the packaged Functions app (which
 * carries its own `proto/` next to its bundle): the nearest folder upwards that holds the file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The absolute path of `relative` (e.g. `proto/vmss_mesh/relay/v1/push.proto`) in the nearest folder at or above `from` that has it. */
export function packageFile(relative: string, from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${relative} not found in ${from} or any folder above it (is the package complete?)`);
  }
}
