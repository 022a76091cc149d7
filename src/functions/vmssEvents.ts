/**
 * Event Grid trigger: resource events of the scale sets' resource group or subscription.
 * Invoked once per event. Malformed or uninteresting events are logged and completed (a poison
 * event must not be retried for 24 h); only transient failures throw, so Event Grid retries.
 */
import type { EventGridFunctionOptions, InvocationContext } from '@azure/functions';
import { classifyEvent } from '../shared/events/delivery';
import { ignoredEventLogRecord } from '../shared/events/outcome';
import { InvalidInputError } from '../shared/errors';
import type { AppRuntime } from './app-runtime';
import type { FunctionDefinition } from './definitions';
import { getAppRuntime } from './app-runtime-cache';
import { failUnlessPermanent, hintSummary } from './hint-log';
import { logLine } from './log-line';

export function vmssEvents(event: unknown, context: InvocationContext): Promise<void> {
  return handleVmssEvent(getAppRuntime(), event, context);
}

/** The handler with the runtime given: `deadletter replay` builds one from the settings it is handed. */
export async function handleVmssEvent(runtime: AppRuntime, event: unknown, context: InvocationContext): Promise<void> {
  let outcome;
  try {
    outcome = classifyEvent(event, { matcher: runtime.scopeMatcher });
  } catch (error) {
    if (error instanceof InvalidInputError) {
      context.warn(logLine({ msg: `malformed event ignored: ${error.message}`, event: 'event-malformed' }));
      runtime.telemetry.metrics.ignored('event', 'malformed');
      return;
    }
    throw error;
  }
  if (outcome.kind === 'ignored') {
    runtime.telemetry.metrics.ignored('event', outcome.reason);
    return context.info(logLine(ignoredEventLogRecord(outcome)));
  }
  if (outcome.kind === 'validation') return context.info(logLine({ msg: 'subscription validation event (answered by the host)', event: 'event-validation' }));
  try {
    const result = await runtime.reconciler.reconcileHint(outcome.hint);
    runtime.telemetry.metrics.hintDone('event', outcome.hint, result);
    context.info(logLine(hintSummary(outcome.hint, result)));
  } catch (error) {
    runtime.telemetry.metrics.hintFailed('event');
    failUnlessPermanent(context, error, { eventId: outcome.hint.eventId });
  }
}

export const vmssEventsFunction: FunctionDefinition = {
  kind: 'eventGrid',
  name: 'vmssEvents',
  options: { handler: vmssEvents } satisfies EventGridFunctionOptions<unknown>,
};
