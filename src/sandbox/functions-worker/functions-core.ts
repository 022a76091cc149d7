/**
 * A stand-in for `@azure/functions-core`, the module the Azure Functions Node.js worker
 * (azure-functions-nodejs-worker, modelled on 3.9.1) provides to the app: one instance per app
 * load, holding what that load registered. It behaves as the worker does where the app can tell:
 * - `registerFunction` only while the app starts (after the host asked for the metadata it
 *   throws), unique function ids, the worker's checks of enum values (direction, dataType,
 *   retryStrategy), and the metadata the host receives: `functionId`, `rawBindings` (one JSON
 *   string per binding, with its name), `scriptFile`/`directory` of the entry point;
 * - hooks `preInvocation`, `postInvocation`, `appStart`, `appTerminate` (any other name is a
 *   RangeError, as in that worker), disposable;
 * - `setProgrammingModel` (the last one wins; replacing one is logged), `log` → the worker's log;
 * - `getProgrammingModel` differs: the worker sets its bundled default model (the v3 programming
 *   model) before the app loads and returns that until the app sets its own; that model is not
 *   part of this stand-in, so before `setProgrammingModel` it throws. `@azure/functions` v4 never
 *   calls it (it only sets its model), and an app that registers no model fails to load here.
 */
import path from 'node:path';
import type {
  DisposableLike,
  FunctionCallback,
  FunctionMetadata,
  FunctionsCoreModule,
  HookCallback,
  HookData,
  ProgrammingModel,
  RpcBindingInfo,
  RpcFunctionMetadata,
  RpcLog,
  RpcLogCategory,
  RpcLogLevel,
  RpcRetryOptions,
} from './core-api';

/** The worker version this stand-in follows. */
export const WORKER_VERSION = '3.9.1';

/** Errors the worker raises itself (as opposed to the app's). */
export class WorkerSystemError extends Error {
  readonly isAzureFunctionsSystemError = true;
  override readonly name = 'WorkerSystemError';
}

export class WorkerRangeError extends RangeError {
  readonly isAzureFunctionsSystemError = true;
}

export class Disposable implements DisposableLike {
  static from(...disposables: Array<{ dispose(): unknown }>): Disposable {
    let pending: ReadonlyArray<{ dispose(): unknown }> | undefined = disposables;
    return new Disposable(() => {
      for (const d of pending ?? []) if (typeof d?.dispose === 'function') d.dispose();
      pending = undefined;
    });
  }

  #onDispose: (() => unknown) | undefined;

  constructor(onDispose: () => unknown) {
    this.#onDispose = onDispose;
  }

  dispose(): unknown {
    const onDispose = this.#onDispose;
    this.#onDispose = undefined;
    return typeof onDispose === 'function' ? onDispose() : undefined;
  }
}

export interface RegisteredFunction {
  /**
   * The metadata as the worker holds it, before it is encoded for the host's
   * FunctionMetadataResponse. The host receives the protobuf of it: `rawBindings` (what it reads
   * the bindings from), `bindings` reduced to type/direction/dataType, `retryOptions` without the
   * library's extra `strategy` field (only the proto's fields).
   */
  readonly metadata: RpcFunctionMetadata;
  readonly callback: FunctionCallback;
}

export type HookName = 'preInvocation' | 'postInvocation' | 'appStart' | 'appTerminate';
const HOOK_NAMES: readonly HookName[] = ['preInvocation', 'postInvocation', 'appStart', 'appTerminate'];

export interface FunctionsCoreOptions {
  /** The host's version (WorkerInitRequest.hostVersion). */
  readonly hostVersion: string;
  /** The worker's log stream (RpcLog messages to the host). */
  readonly log: (log: RpcLog) => void;
}

/** One worker's view of one app: the module handed to the app and what the app did with it. */
export interface FunctionsCore {
  readonly module: FunctionsCoreModule;
  /** Registered functions by id, in registration order. */
  readonly functions: ReadonlyMap<string, RegisteredFunction>;
  readonly programmingModel: ProgrammingModel | undefined;
  readonly appHookData: HookData;
  readonly appLevelOnlyHookData: HookData;
  hooks(name: HookName): readonly HookCallback[];
  /** The entry point being loaded (names `scriptFile`/`directory` of functions registered meanwhile). */
  setCurrentEntryPoint(file: string | undefined): void;
  /** The host asked for the metadata (FunctionsMetadataRequest): no more registrations. */
  lockIndexing(): void;
  readonly indexingLocked: boolean;
  readonly log: (log: RpcLog) => void;
}

export function createFunctionsCore(options: FunctionsCoreOptions): FunctionsCore {
  const functions = new Map<string, RegisteredFunction>();
  const hooks: Record<HookName, HookCallback[]> = { preInvocation: [], postInvocation: [], appStart: [], appTerminate: [] };
  let programmingModel: ProgrammingModel | undefined;
  let locked = false;
  let currentEntryPoint: string | undefined;

  const hooksOf = (name: string): HookCallback[] => {
    if (!(HOOK_NAMES as readonly string[]).includes(name)) throw new WorkerRangeError(`Unrecognized hook "${name}"`);
    return hooks[name as HookName];
  };

  const registerFunction = (metadata: FunctionMetadata, callback: FunctionCallback): Disposable => {
    if (locked) throw new WorkerSystemError('A function can only be registered during app startup.');
    const functionId = metadata.functionId || metadata.name;
    if (functions.has(functionId)) throw new WorkerSystemError(`A function with id "${functionId}" has already been registered.`);
    checkEnums(metadata);
    // As the host receives it over gRPC: no undefined fields.
    const rpcMetadata: RpcFunctionMetadata = withoutUndefined({
      ...metadata,
      functionId,
      // What the host actually reads: one JSON document per binding, its name included.
      rawBindings: Object.entries(metadata.bindings).map(([name, binding]) => JSON.stringify({ ...binding, name })),
      ...(currentEntryPoint
        ? { scriptFile: path.basename(currentEntryPoint), directory: path.dirname(currentEntryPoint) }
        : { scriptFile: 'unknown' }),
    });
    functions.set(functionId, { metadata: rpcMetadata, callback });
    return new Disposable(() => {
      if (locked) throw new WorkerSystemError('A function can only be disposed during app startup.');
      functions.delete(functionId);
    });
  };

  const module: FunctionsCoreModule = {
    version: WORKER_VERSION,
    hostVersion: options.hostVersion,
    registerFunction,
    registerHook(hookName: string, callback: HookCallback): Disposable {
      const list = hooksOf(hookName);
      list.push(callback);
      return new Disposable(() => {
        const index = list.indexOf(callback);
        if (index > -1) list.splice(index, 1);
      });
    },
    setProgrammingModel(model: ProgrammingModel): void {
      // The real worker sets its bundled default model first, so an app's model always replaces one and is logged.
      options.log({ message: `Setting Node.js programming model to "${model.name}" version "${model.version}"`, level: 'information', logCategory: 'system' });
      programmingModel = model;
    },
    getProgrammingModel(): ProgrammingModel {
      if (!programmingModel) throw new WorkerSystemError('No programming model is set (the worker\'s bundled default model is not part of this stand-in).');
      return programmingModel;
    },
    log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
      options.log({ message, level: checkEnum(level, LOG_LEVELS, 'CoreRpcLogLevel'), logCategory: checkEnum(category, LOG_CATEGORIES, 'CoreRpcLogCategory') });
    },
    Disposable,
  };

  return {
    module,
    functions,
    get programmingModel() {
      return programmingModel;
    },
    appHookData: {},
    appLevelOnlyHookData: {},
    hooks: (name) => hooks[name],
    setCurrentEntryPoint(file) {
      currentEntryPoint = file;
    },
    lockIndexing() {
      locked = true;
    },
    get indexingLocked() {
      return locked;
    },
    log: options.log,
  };
}

const DIRECTIONS = ['in', 'out', 'inout'] as const;
const DATA_TYPES = ['undefined', 'string', 'binary', 'stream'] as const;
const RETRY_STRATEGIES = ['exponentialBackoff', 'fixedDelay'] as const;
const LOG_LEVELS = ['trace', 'debug', 'information', 'warning', 'error', 'critical', 'none'] as const;
const LOG_CATEGORIES = ['user', 'system', 'customMetric'] as const;

/** The worker converts string enums to its protobuf enums; an unknown value is a RangeError there. */
function checkEnum<T extends string>(value: unknown, allowed: readonly T[], typeName: string): T {
  if (value === undefined || value === null || (allowed as readonly unknown[]).includes(value)) return value as T;
  throw new WorkerRangeError(`Unexpected value "${String(value)}" for type "${typeName}"`);
}

function checkEnums(metadata: FunctionMetadata): void {
  for (const binding of Object.values(metadata.bindings) as RpcBindingInfo[]) {
    if (!binding) continue;
    checkEnum(binding.direction, DIRECTIONS, 'CoreRpcBindingDirection');
    checkEnum(binding.dataType, DATA_TYPES, 'CoreRpcBindingDataType');
  }
  const retry: RpcRetryOptions | undefined = metadata.retryOptions;
  if (retry) checkEnum(retry.retryStrategy, RETRY_STRATEGIES, 'CoreRpcRetryStrategy');
}

function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, withoutUndefined(v)])) as T;
}
