/**
 * Errors are part of the interface. Every error the domain throws says whether retrying can help,
 * so adapters (Functions, CLI) can map it to retry / no-retry without guessing.
 */

export abstract class VmssMeshError extends Error {
  /** True when the same input may succeed later (network, throttling, contention). */
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input: retrying the same bytes can never help. */
export class InvalidInputError extends VmssMeshError {
  readonly retryable = false;
  constructor(
    message: string,
    readonly path: string = '',
    options?: { cause?: unknown },
  ) {
    super(path ? `${path}: ${message}` : message, options);
  }
}

/** A dependency (ARM, Consul, relay) is unreachable, throttled or failed transiently. */
export class TransientError extends VmssMeshError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly dependency: 'arm' | 'consul' | 'relay',
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Settings are missing or contradictory; fix the configuration, retrying will not help. */
export class ConfigError extends VmssMeshError {
  readonly retryable = false;
  constructor(
    message: string,
    readonly setting?: string,
  ) {
    super(setting ? `${setting}: ${message}` : message);
  }
}

/** A newer reconcile of the same scale set claimed it; this run's view is stale and it stops. */
export class SupersededError extends VmssMeshError {
  readonly retryable = false;
  constructor(
    readonly scaleSetId: string,
    message: string,
  ) {
    super(message);
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof VmssMeshError ? error.retryable : true;
}

/**
 * Whether the trigger (an Event Grid delivery, the timer run) should be tried again: when the same
 * input may succeed later, and also on a ConfigError — nothing is wrong with the event, and keeping
 * it until the operator fixes the setting loses nothing.
 */
export function shouldRetryTrigger(error: unknown): boolean {
  return isRetryable(error) || error instanceof ConfigError;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `text` cut for a log line or an error message (one line, not megabytes of a poison input). */
export function shortened(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}
