/**
 * The app's own CommonJS modules for one load of a Functions app: every `.js`/`.cjs`/`.json` file
 * under the app folder (the entry point, and what it requires from there — the packaged app's
 * vendor.js, required lazily at the first invocation that needs it) is compiled for this load and
 * kept in this load's module cache, never in Node's require.cache, and runs with this load's
 * `process.env`. In those files `require('@azure/functions-core')` is this load's stand-in module
 * (the worker's interception) and `process` / `require('process')` show the load's own `env`.
 *
 * What stays shared with the hosting process: Node's built-in modules; any package resolved
 * outside the app folder (a node_modules above it), which Node's own require loads once for the
 * process and which reads the real `process.env` (the packaged app has none: it is bundled); and
 * code that reaches the process through the global object instead of the free `process`
 * (`globalThis.process.env`: in the packaged vendor.js only MSAL's AZURE_REGIONAL_AUTHORITY_NAME).
 */
import { readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

interface AppModule {
  exports: unknown;
  readonly id: string;
  readonly filename: string;
  readonly path: string;
  loaded: boolean;
  readonly children: AppModule[];
  readonly paths: string[];
  require: NodeJS.Require;
}

const OWN_EXTENSIONS = new Set(['.js', '.cjs', '.json']);
const WRAPPER_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname', 'process'];

/** Runs `entryPoint` (a file under `directory`) as this load's first module. */
export function runAppEntryPoint(directory: string, entryPoint: string, coreModule: unknown, env: Record<string, string | undefined>): void {
  const appProcess = processWithEnv(env);
  const cache = new Map<string, AppModule>();
  const root = path.resolve(directory) + path.sep;
  const isOwn = (file: string) => file.startsWith(root) && OWN_EXTENSIONS.has(path.extname(file)) && !file.slice(root.length).split(path.sep).includes('node_modules');

  const load = (file: string): AppModule => {
    const cached = cache.get(file);
    if (cached) return cached; // a cycle sees the partial exports, as with Node's loader
    const module: AppModule = { exports: {}, id: file, filename: file, path: path.dirname(file), loaded: false, children: [], paths: [], require: requireFrom(file) };
    cache.set(file, module);
    try {
      if (path.extname(file) === '.json') {
        module.exports = JSON.parse(stripBom(readFileSync(file, 'utf8')));
      } else {
        const wrapper = vm.compileFunction(stripBom(readFileSync(file, 'utf8')), WRAPPER_PARAMETERS, { filename: file });
        wrapper.call(module.exports, module.exports, module.require, module, file, path.dirname(file), appProcess);
      }
    } catch (error) {
      cache.delete(file);
      throw error;
    }
    module.loaded = true;
    return module;
  };

  function requireFrom(parent: string): NodeJS.Require {
    const base = createRequire(parent);
    const appRequire = (id: string): unknown => {
      if (id === '@azure/functions-core') return coreModule;
      if (id === 'process' || id === 'node:process') return appProcess;
      if (isBuiltin(id)) return base(id);
      const file = base.resolve(id);
      return isOwn(file) ? load(file).exports : base(id);
    };
    return Object.assign(appRequire, { resolve: base.resolve, cache: base.cache, extensions: base.extensions, main: base.main });
  }

  load(path.resolve(entryPoint));
}

/** This process, with its own `env`. */
function processWithEnv(env: Record<string, string | undefined>): NodeJS.Process {
  let ownEnv = env;
  return new Proxy(process, {
    get: (target, key) => (key === 'env' ? ownEnv : Reflect.get(target, key, target)),
    set: (target, key, value) => {
      if (key === 'env') {
        ownEnv = value as Record<string, string | undefined>;
        return true;
      }
      return Reflect.set(target, key, value, target);
    },
  });
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
