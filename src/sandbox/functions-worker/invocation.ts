/**
 * One InvocationRequest handled as the Node.js worker handles it: the registered programming
 * model's invocation model turns the RPC request into the handler's arguments
 * (`getInvocationModel` → `getArguments`), preInvocation hooks, the handler (`invokeFunction`),
 * postInvocation hooks, and the handler's result back into an RPC response (`getResponse`),
 * checked as the worker checks it before sending (response-checks.ts).
 * A failure anywhere is the response's `result: { status: 'failure', exception }` (the host
 * then retries or reports), never an exception out of here.
 */
import type {
  AppStartContext,
  AppTerminateContext,
  CoreInvocationContext,
  FunctionCallback,
  HookContext,
  InvocationState,
  PostInvocationContext,
  PreInvocationContext,
  RpcFunctionMetadata,
  RpcInvocationRequest,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
} from './core-api';
import type { FunctionsCore, HookName } from './functions-core';
import { WorkerSystemError } from './functions-core';
import { checkResponseEnums, malformedResponse } from './response-checks';

/** The context each hook receives. */
export interface HookContexts {
  readonly preInvocation: PreInvocationContext;
  readonly postInvocation: PostInvocationContext;
  readonly appStart: AppStartContext;
  readonly appTerminate: AppTerminateContext;
}

/** Runs a hook list in order, awaiting each (a throwing hook fails the invocation, as in the worker). */
export async function executeHooks<N extends HookName>(core: FunctionsCore, name: N, context: HookContexts[N], invocationId?: string, category?: string): Promise<void> {
  const callbacks = core.hooks(name);
  if (callbacks.length === 0) return;
  core.log({ message: `Executing ${callbacks.length} "${name}" hooks`, level: 'debug', logCategory: 'system', invocationId, category });
  for (const callback of [...callbacks]) await callback(context);
  core.log({ message: `Executed "${name}" hooks`, level: 'debug', logCategory: 'system', invocationId, category });
}

export async function handleInvocation(core: FunctionsCore, request: RpcInvocationRequest, workerId: string): Promise<RpcInvocationResponse> {
  let response: RpcInvocationResponse;
  try {
    response = { ...(await invoke(core, request, workerId)), result: { status: 'success' } };
  } catch (error) {
    const { message, stack } = asError(error);
    if ((error as { isAzureFunctionsSystemError?: unknown } | null)?.isAzureFunctionsSystemError === true) {
      core.log({ message, level: 'error', logCategory: 'system', invocationId: request.invocationId });
    }
    return { invocationId: request.invocationId, result: { status: 'failure', exception: { message, stackTrace: stack } } };
  }
  // The worker verifies the message before it writes it; one that fails is never sent (the
  // worker exits and the host fails the invocation): here, a failure result.
  const malformed = malformedResponse(response);
  if (malformed === undefined) return response;
  core.log({ message: malformed, level: 'error', logCategory: 'system', invocationId: request.invocationId });
  return { invocationId: request.invocationId, result: { status: 'failure', exception: { message: malformed } } };
}

async function invoke(core: FunctionsCore, request: RpcInvocationRequest, workerId: string): Promise<RpcInvocationResponse> {
  const functionId = request.functionId;
  if (!functionId) throw new WorkerSystemError('Property "functionId" is missing on the invocation request.');
  const registered = core.functions.get(functionId);
  if (!registered) throw new WorkerSystemError(`Function code for '${functionId}' is not loaded and cannot be invoked.`);
  const invocationId = request.invocationId;
  if (!invocationId) throw new WorkerSystemError('Property "invocationId" is missing on the invocation request.');

  const metadata: RpcFunctionMetadata = registered.metadata;
  const category = `${metadata.name ?? functionId}.Invocation`;
  let state: InvocationState | undefined;
  const coreContext: CoreInvocationContext = {
    invocationId,
    request,
    metadata,
    get state() {
      return state;
    },
    set state(value) {
      state = value;
    },
    log(level: RpcLogLevel, logCategory: RpcLogCategory, message: string) {
      core.log({ invocationId, category, message, level, logCategory });
    },
  };
  coreContext.log('debug', 'system', `Worker ${workerId} received FunctionInvocationRequest with invocationId ${invocationId}`);

  const programmingModel = core.programmingModel;
  if (!programmingModel) throw new WorkerSystemError('No programming model is set: the app never registered one.');
  const model = await programmingModel.getInvocationModel(coreContext);
  const hookData: Record<string, unknown> = {};
  const { context, inputs: initialInputs } = await model.getArguments();
  let inputs = initialInputs;
  let callback: FunctionCallback = registered.callback;

  const pre = hookContext<PreInvocationContext>({ inputs, functionCallback: callback }, { hookData, appHookData: core.appHookData, invocationContext: context });
  coreContext.state = 'preInvocationHooks';
  try {
    await executeHooks(core, 'preInvocation', pre, invocationId, category);
  } finally {
    coreContext.state = undefined;
  }
  inputs = pre.inputs;
  callback = pre.functionCallback;

  const post = hookContext<PostInvocationContext>({ inputs, result: null, error: null }, { hookData, appHookData: core.appHookData, invocationContext: context });
  coreContext.state = 'invocation';
  try {
    post.result = await model.invokeFunction(context, inputs, callback);
  } catch (error) {
    post.error = error;
  } finally {
    coreContext.state = undefined;
  }
  coreContext.state = 'postInvocationHooks';
  try {
    await executeHooks(core, 'postInvocation', post, invocationId, category);
  } finally {
    coreContext.state = undefined;
  }
  if (post.error !== null && post.error !== undefined) throw post.error;
  const response = await model.getResponse(context, post.result);
  checkResponseEnums(response); // the worker's fromCoreInvocationResponse
  return response;
}

/**
 * A hook context: the `writable` fields as given, the `readOnly` ones (hookData, appHookData,
 * invocationContext) readable only — assigning them throws, as in the worker.
 */
export function hookContext<T extends HookContext>(writable: Partial<T>, readOnly: Record<string, unknown>): T {
  const target: Record<string, unknown> = { ...writable };
  for (const [key, value] of Object.entries(readOnly)) {
    Object.defineProperty(target, key, {
      enumerable: true,
      get: () => value,
      set: () => {
        throw new TypeError(`Cannot assign to read only property '${key}'`);
      },
    });
  }
  return target as T;
}

function asError(error: unknown): { message: string; stack?: string } {
  if (error instanceof Error) return { message: error.message, stack: error.stack };
  if (error === undefined || error === null) return { message: 'Unknown error' };
  if (typeof error === 'string') return { message: error };
  if (typeof error === 'object') {
    try {
      return { message: JSON.stringify(error) };
    } catch {
      return { message: String(error) };
    }
  }
  return { message: String(error) };
}
