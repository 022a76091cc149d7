/**
 * A small Functions app for tests, bundled like the packaged one (esbuild, `@azure/functions`
 * inside, `@azure/functions-core` left external for the worker stand-in) into a temporary app
 * folder with package.json (`main`) and host.json, removed after the test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');

/** Bundles `source` (CommonJS requiring '@azure/functions') into an app folder; returns the folder. */
export function fixtureApp(t: { after(fn: () => void): void }, source: string, hostJson: object = { version: '2.0' }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-fixture-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  buildSync({
    stdin: { contents: source, resolveDir: ROOT, sourcefile: 'fixture-app.js', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@azure/functions-core'],
    outfile: path.join(dir, 'main.js'),
    logLevel: 'warning',
  });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ main: 'main.js' }));
  writeFileSync(path.join(dir, 'host.json'), JSON.stringify(hostJson));
  return dir;
}
