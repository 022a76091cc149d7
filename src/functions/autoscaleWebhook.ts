/**
 * HTTP POST: the Azure Monitor autoscale webhook. 400 with the reason for a malformed body;
 * 200 with what was done otherwise (ignored settings of other resource types included);
 * 503 with Retry-After when ARM or Consul is unavailable, so the sender may try again.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { parseAutoscaleNotification } from '../shared/events/delivery';
import { ignoredEventLogRecord } from '../shared/events/outcome';
import { InvalidInputError, TransientError, errorMessage, isRetryable } from '../shared/errors';
import type { FunctionDefinition } from './definitions';
import { getAppRuntime } from './app-runtime-cache';
import { hintSummary } from './hint-log';
import { logLine } from './log-line';

export async function autoscaleWebhook(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runtime = getAppRuntime();
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch (error) {
    runtime.telemetry.metrics.ignored('autoscale', 'malformed');
    return { status: 400, jsonBody: { error: `body is not JSON: ${errorMessage(error)}` } };
  }
  let outcome;
  try {
    [outcome] = parseAutoscaleNotification(body, { scope: runtime.config.scope }).outcomes;
  } catch (error) {
    if (error instanceof InvalidInputError) {
      context.warn(logLine({ msg: `malformed autoscale notification: ${error.message}`, event: 'autoscale-malformed' }));
      runtime.telemetry.metrics.ignored('autoscale', 'malformed');
      return { status: 400, jsonBody: { error: error.message } };
    }
    throw error;
  }
  if (!outcome || outcome.kind !== 'hint') {
    const record = outcome?.kind === 'ignored' ? ignoredEventLogRecord(outcome) : { msg: 'nothing to do', event: 'autoscale-empty' };
    runtime.telemetry.metrics.ignored('autoscale', outcome?.kind === 'ignored' ? outcome.reason : 'empty');
    context.info(logLine(record));
    return { status: 200, jsonBody: { action: 'ignored', ...record } };
  }
  try {
    const result = await runtime.reconciler.reconcileHint(outcome.hint);
    runtime.telemetry.metrics.hintDone('autoscale', outcome.hint, result);
    const summary = hintSummary(outcome.hint, result);
    context.info(logLine(summary));
    return { status: 200, jsonBody: { action: 'reconciled', ...summary } };
  } catch (error) {
    runtime.telemetry.metrics.hintFailed('autoscale');
    context.error(logLine({ msg: `autoscale reconcile failed: ${errorMessage(error)}`, event: 'reconcile-failed', retryable: isRetryable(error) }));
    if (!isRetryable(error)) return { status: 500, jsonBody: { error: errorMessage(error) } };
    const retryAfterS = error instanceof TransientError && error.retryAfterMs ? Math.ceil(error.retryAfterMs / 1000) : 30;
    return { status: 503, headers: { 'Retry-After': String(retryAfterS) }, jsonBody: { error: errorMessage(error) } };
  }
}

export const autoscaleWebhookFunction: FunctionDefinition = {
  kind: 'http',
  name: 'autoscaleWebhook',
  options: { methods: ['POST'], authLevel: 'function', route: 'autoscaleWebhook', handler: autoscaleWebhook },
};
