/**
 * A timer trigger as the host runs it, from the function's registered binding: the NCRONTAB
 * `schedule` (an app setting when written `%NAME%`), `runOnStartup`, `useMonitor` (the schedule
 * status in the payload), one run at a time (the host's singleton lock: a tick that finds the
 * previous run still going is skipped), and the function's retry policy (`retryOptions`: fixed
 * delay or exponential backoff, up to maxRetryCount more attempts, each with its retry context),
 * retried within the run, so the lock is held through the retry delays.
 */
import { Cron } from 'croner';
import type { RpcInvocationRequest, RpcRetryOptions } from '../functions-worker/core-api';
import { triggerOf } from '../functions-worker/bindings';
import type { RegisteredFunction } from '../functions-worker/functions-core';
import { timerInvocation } from './rpc-messages';

export interface TimerTriggerOptions {
  readonly fn: RegisteredFunction;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Runs one invocation; resolves to the failure message, or undefined when it succeeded. */
  readonly invoke: (request: RpcInvocationRequest) => Promise<string | undefined>;
  readonly note: (level: 'information' | 'warning', message: string) => void;
}

export interface TimerTrigger {
  readonly schedule: string;
  start(): void;
  /** One run now (no retries), or the run already in progress. */
  runNow(): Promise<void>;
  /** A run is in progress (an attempt, or a wait before a retry). */
  running(): boolean;
  stop(): Promise<void>;
}

export function timerTrigger(options: TimerTriggerOptions): TimerTrigger {
  const { fn } = options;
  const name = fn.metadata.name ?? '';
  const binding = triggerOf(fn.metadata);
  const schedule = resolveSetting(String(binding.schedule ?? ''), options.env);
  const useMonitor = binding.useMonitor !== false;
  const retry = fn.metadata.retryOptions ?? undefined;
  let cron: Cron | undefined;
  let running: Promise<void> | undefined;
  let last: Date | undefined;
  let stopped = false;
  let wakeRetry: (() => void) | undefined;

  /**
   * One run: the invocation, and (when `retries`) its retries inside the same run, as the host
   * retries within the invocation while it holds the timer's singleton lock: a tick or admin run
   * during a retry delay finds the run in progress and is skipped, never the retry.
   */
  const attempts = async (isPastDue: boolean, retries: boolean): Promise<void> => {
    for (let retryCount = 0; ; retryCount += 1) {
      const now = new Date();
      const status = useMonitor ? { last: (last ?? new Date(0)).toISOString(), next: cron?.nextRun()?.toISOString() ?? '', lastUpdated: now.toISOString() } : undefined;
      const failure = await options.invoke(
        timerInvocation(fn, { isPastDue, ...(status ? { status } : {}) }, retry && retry.maxRetryCount ? { retry: { retryCount, maxRetryCount: retry.maxRetryCount } } : {}),
      );
      last = now;
      if (failure === undefined || !retry || !retries || stopped) return;
      const delayMs = retryDelayMs(retry, retryCount);
      if (delayMs === undefined) return;
      options.note('information', `${name}: retry ${retryCount + 1} of ${retry.maxRetryCount} in ${Math.round(delayMs / 1000)} s (retry policy ${retry.retryStrategy})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        wakeRetry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeRetry = undefined;
      if (stopped) return;
    }
  };

  const run = (work: () => Promise<void>): Promise<void> => {
    if (running) {
      options.note('information', `${name}: previous run still in progress, this tick is skipped (singleton)`);
      return running;
    }
    running = work().finally(() => (running = undefined));
    return running;
  };

  return {
    schedule,
    start() {
      cron = new Cron(schedule, { protect: true }, () => void run(() => attempts(false, true)));
      if (binding.runOnStartup === true) void run(() => attempts(false, true));
    },
    runNow() {
      return run(() => attempts(false, false));
    },
    running: () => running !== undefined,
    async stop() {
      stopped = true;
      cron?.stop();
      wakeRetry?.(); // a run waiting to retry ends now
      await running?.catch(() => undefined);
    },
  };
}

/** The delay before retry number `retryCount + 1`, or undefined when the policy allows no more. */
export function retryDelayMs(retry: RpcRetryOptions, retryCount: number): number | undefined {
  const max = retry.maxRetryCount ?? 0;
  if (max !== -1 && retryCount >= max) return undefined;
  const ms = (d: RpcRetryOptions['delayInterval']) => ((d?.seconds ?? 0) * 1000) + (d?.nanos ?? 0) / 1e6;
  if (retry.retryStrategy === 'fixedDelay') return ms(retry.delayInterval);
  const min = ms(retry.minimumInterval);
  const maxInterval = ms(retry.maximumInterval);
  return Math.min(maxInterval > 0 ? maxInterval : Number.POSITIVE_INFINITY, min * 2 ** retryCount);
}

/** `%NAME%` in a binding property is the app setting NAME, as the host resolves binding expressions. */
function resolveSetting(value: string, env: Readonly<Record<string, string | undefined>>): string {
  const setting = /^%([^%]+)%$/.exec(value.trim());
  if (!setting) return value;
  const resolved = env[setting[1] as string];
  if (resolved === undefined || resolved === '') throw new TypeError(`timer schedule ${value}: app setting ${setting[1]} is not set`);
  return resolved;
}
