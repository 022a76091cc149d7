/**
 * Loads a Functions app as the Node.js worker does, with the stand-in of `@azure/functions-core`:
 * WorkerInit (the app's package.json `main` is run; a `require('@azure/functions-core')` from it
 * gets this load's module; appStart hooks; the programming model's capabilities), then the
 * host's FunctionsMetadataRequest (registration closes; the functions' metadata is what the
 * host would index), then invocations through the registered programming model.
 *
 * Each load is its own worker as far as the app's own files go (app-modules.ts): every
 * `.js`/`.cjs`/`.json` file under the app folder — the entry point and what it requires from there,
 * such as the packaged app's vendor.js that main.js requires at the first invocation needing it —
 * is compiled for this load and cached per load (never in require.cache), so its module-level state
 * (the app's cached runtime, the bundled `@azure/functions` and its cached core module, the
 * vendored SDKs) belongs to this load alone, and it reads this load's `process.env` (a worker
 * process has its own environment), so two apps in one process run with their own settings. The
 * worker patches Module.prototype.require for the whole process; here `require` is intercepted only
 * in those files. Not isolated: Node's built-in modules, `globalThis.process`, and packages resolved
 * outside the app folder, which Node's require loads once per process with the real `process.env` — an app that
 * requires `@azure/functions` from a node_modules is not supported (its library would not see this
 * load's module): load the bundle.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AppStartContext, AppTerminateContext, ProgrammingModel, RpcInvocationRequest, RpcInvocationResponse, RpcLog, WorkerCapabilities } from './core-api';
import { runAppEntryPoint } from './app-modules';
import { createFunctionsCore, WorkerSystemError, type RegisteredFunction } from './functions-core';
import { executeHooks, handleInvocation, hookContext } from './invocation';
import { packagedAppDirectory } from './packaged-app';

/** The capabilities the worker announces before the programming model adds its own. */
export const WORKER_CAPABILITIES: Readonly<WorkerCapabilities> = {
  RawHttpBodyBytes: 'true',
  RpcHttpTriggerMetadataRemoved: 'true',
  RpcHttpBodyOnly: 'true',
  IgnoreEmptyValuedRpcHttpHeaders: 'true',
  UseNullableValueDictionaryForHttp: 'true',
  WorkerStatus: 'true',
  TypedDataCollection: 'true',
  HandlesWorkerTerminateMessage: 'true',
};

/** The host version the local host announces (WorkerInitRequest.hostVersion). */
export const LOCAL_HOST_VERSION = '4.0.0-vmss-mesh-local';

export interface LoadFunctionsAppOptions {
  /** The app folder (package.json with `main`); default: the packaged app, dist/functions-app. */
  readonly appDirectory?: string;
  /** The app's `process.env`; default: a copy of this process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly hostVersion?: string;
  /** The worker's log stream (what it would send the host as RpcLog). Default: dropped. */
  readonly log?: (log: RpcLog) => void;
}

export interface FunctionsApp {
  readonly directory: string;
  readonly entryPoint: string;
  readonly workerId: string;
  /** In registration order, with the metadata the host receives. */
  readonly functions: readonly RegisteredFunction[];
  readonly programmingModel: ProgrammingModel;
  readonly capabilities: WorkerCapabilities;
  /** The app's own environment (what `process.env` is inside it). */
  readonly env: Record<string, string | undefined>;
  /** A function by name, case-insensitively (as the host matches names). */
  find(name: string): RegisteredFunction | undefined;
  /** One InvocationRequest → its InvocationResponse (failures are in `result`, never thrown). */
  invoke(request: RpcInvocationRequest): Promise<RpcInvocationResponse>;
  /** WorkerTerminate: runs the appTerminate hooks once. */
  terminate(): Promise<void>;
}

export async function loadFunctionsApp(options: LoadFunctionsAppOptions = {}): Promise<FunctionsApp> {
  const directory = path.resolve(options.appDirectory ?? packagedAppDirectory());
  const entryPoint = entryPointOf(directory);
  const log = options.log ?? (() => undefined);
  const core = createFunctionsCore({ hostVersion: options.hostVersion ?? LOCAL_HOST_VERSION, log });
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
  const workerId = randomUUID();

  log({ message: `Loading entry point file "${path.basename(entryPoint)}"`, level: 'debug', logCategory: 'system' });
  core.setCurrentEntryPoint(entryPoint);
  try {
    runAppEntryPoint(directory, entryPoint, core.module, env);
  } catch (error) {
    throw new WorkerSystemError(`Worker was unable to load entry point "${path.basename(entryPoint)}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    core.setCurrentEntryPoint(undefined);
  }
  log({ message: `Loaded entry point file "${path.basename(entryPoint)}"`, level: 'debug', logCategory: 'system' });

  const appStart = hookContext<AppStartContext>({ functionAppDirectory: directory }, { hookData: core.appLevelOnlyHookData, appHookData: core.appHookData });
  await executeHooks(core, 'appStart', appStart);

  const programmingModel = core.programmingModel;
  if (!programmingModel) {
    // require is intercepted only in the app folder's own files: a library required from a
    // node_modules would not see this load's core module (and would run in its "test mode").
    throw new WorkerSystemError(`${entryPoint} set no programming model: the entry point must be one bundle with @azure/functions v4 inside and @azure/functions-core left external (\`npm run package\` builds dist/functions-app that way)`);
  }
  const capabilities = programmingModel.getCapabilities ? await programmingModel.getCapabilities({ ...WORKER_CAPABILITIES }) : { ...WORKER_CAPABILITIES };

  // The host's FunctionsMetadataRequest: from now on registrations are refused.
  core.lockIndexing();
  const functions = [...core.functions.values()];
  if (functions.length === 0) throw new WorkerSystemError(`${entryPoint} registered no functions`);

  let terminated: Promise<void> | undefined;
  return {
    directory,
    entryPoint,
    workerId,
    functions,
    programmingModel,
    capabilities,
    env,
    find: (name) => functions.find((f) => (f.metadata.name ?? '').toLowerCase() === name.toLowerCase()),
    invoke: (request) => handleInvocation(core, request, workerId),
    terminate() {
      terminated ??= executeHooks(core, 'appTerminate', hookContext<AppTerminateContext>({}, { hookData: core.appLevelOnlyHookData, appHookData: core.appHookData }));
      return terminated;
    },
  };
}

function entryPointOf(directory: string): string {
  const packageJson = path.join(directory, 'package.json');
  if (!existsSync(packageJson)) throw new WorkerSystemError(`No package.json in the Functions app folder ${directory}`);
  const main: unknown = (JSON.parse(readFileSync(packageJson, 'utf8')) as { main?: unknown }).main;
  if (typeof main !== 'string' || main === '') throw new WorkerSystemError(`${packageJson} names no "main" entry point`);
  const entryPoint = path.resolve(directory, main);
  if (!existsSync(entryPoint)) throw new WorkerSystemError(`Worker was unable to load entry point "${main}": File does not exist`);
  return entryPoint;
}
