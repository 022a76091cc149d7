/** HTTP GET: what the mesh holds now (read from Consul; functions keep no state of their own). */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { errorMessage, isRetryable } from '../shared/errors';
import type { FunctionDefinition } from './definitions';
import { getAppRuntime } from './runtime';
import { logLine } from './log-line';

export async function status(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return { status: 200, jsonBody: await getAppRuntime().status() };
  } catch (error) {
    context.error(logLine({ msg: `status failed: ${errorMessage(error)}`, event: 'status-failed' }));
    return { status: isRetryable(error) ? 503 : 500, jsonBody: { error: errorMessage(error) } };
  }
}

export const statusFunction: FunctionDefinition = {
  kind: 'http',
  name: 'status',
  options: { methods: ['GET'], authLevel: 'function', route: 'status', handler: status },
};
