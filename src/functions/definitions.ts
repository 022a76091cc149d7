/**
 * The app's functions as data: the Azure Functions runtime registers them through `app.*`
 * (src/functions/index.ts) and the local host (src/sandbox/functions-host) serves the very same
 * objects, so what runs locally is what runs in Azure.
 */
import type { EventGridFunctionOptions, HttpFunctionOptions, TimerFunctionOptions } from '@azure/functions';

export type FunctionDefinition =
  | { readonly kind: 'eventGrid'; readonly name: string; readonly options: EventGridFunctionOptions<unknown> }
  | { readonly kind: 'http'; readonly name: string; readonly options: HttpFunctionOptions }
  | { readonly kind: 'timer'; readonly name: string; readonly options: TimerFunctionOptions };
