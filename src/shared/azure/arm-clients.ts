/**
 * The real Azure SDK clients (compute + network), configured once: credential, endpoint, the extra
 * CA the ARM emulator needs, a bounded retry budget, and a meter that counts every request.
 *
 * Retries: the SDK's own retry policy already waits `Retry-After` on 429 (and backs off on 5xx and
 * network errors). What it does not do is cap the total wait, and ARM may ask for minutes; a
 * reconcile inside a Function with a 5-minute timeout must not sleep through it. A per-retry policy
 * therefore keeps the Retry-After waits of each call within `maxRetryAfterMs` and, once a wait
 * would exceed it, fails the call at once with TransientError('arm', retryAfterMs) so the caller
 * can hand the wait to Event Grid / the timer instead.
 *
 * Every answer's `x-ms-ratelimit-remaining-*` headers are recorded (arm-budget.ts): into the
 * process's read budget per subscription (what `status` shows) and to the observers of the request's
 * scope (the sweep's pacing). A garbled header is logged (once a minute per header) and ignored.
 *
 * An extra CA (the emulator's) is parsed once into a TLS secure context held by one keep-alive
 * agent that every client uses. Passing it as the SDK's `tlsOptions.ca` instead costs on every
 * request: Node's https.Agent names its connection pool by concatenating `ca` (Node's 140-odd
 * roots plus ours, ~216 KB) per request, and re-parses it for every new connection.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { ComputeManagementClientOptionalParams } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { DefaultAzureCredential } from '@azure/identity';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { AppConfig } from '../config';
import { ConfigError, TransientError } from '../errors';
import { parseBudgetHeaders, processArmReadBudget, reportToObservers, subscriptionOfUrl } from './arm-budget';
import type { ArmReadBudget, IgnoredBudgetHeader } from './arm-budget';
import { ArmCallMeter } from './arm-call-meter';
import type { ArmCallStats } from './arm-call-meter';
import { retryAfterMs } from './arm-failures';

type AdditionalPolicy = NonNullable<ComputeManagementClientOptionalParams['additionalPolicies']>[number];
type PipelinePolicy = AdditionalPolicy['policy'];
type PipelineRequest = Parameters<PipelinePolicy['sendRequest']>[0];

export interface ArmRetryOptions {
  /** Retries per call after the first attempt (SDK default 3). */
  readonly maxRetries?: number;
  /** First back-off for 5xx / network errors (SDK default 800 ms). */
  readonly retryDelayInMs?: number;
  /** Longest back-off for 5xx / network errors (SDK default 64 s; ours 10 s). */
  readonly maxRetryDelayInMs?: number;
  /** Total Retry-After wait allowed per call before giving up with TransientError. Default 30 s. */
  readonly maxRetryAfterMs?: number;
}

export interface ArmClientOptions {
  /** Overrides the credential chosen from the config (tests, custom auth). */
  readonly credential?: TokenCredential;
  /** PEM of an extra CA to trust (the ARM emulator's); wins over `config.caFile`. */
  readonly caPem?: string;
  readonly retry?: ArmRetryOptions;
  /** Where the remaining-reads headers are recorded. Default: the process's (`processArmReadBudget`). */
  readonly budget?: ArmReadBudget;
  /**
   * Told about each budget header that could not be read (it is ignored). Default: a `warn` JSON line
   * on the console, at most once a minute per header.
   */
  readonly onIgnoredBudgetHeader?: (ignored: IgnoredBudgetHeader) => void;
}

export interface ArmClients {
  readonly subscriptionId: string;
  readonly compute: ComputeManagementClient;
  readonly network: NetworkManagementClient;
  /** Shared by every subscription's clients made from the same `createArmClients` call. */
  readonly meter: ArmCallMeter;
  /** Clients for another subscription, sharing credential, TLS settings and meter (cached). */
  forSubscription(subscriptionId: string): ArmClients;
  /** Runs `work` and counts the ARM requests it (and only it) made. */
  measureCalls<T>(work: () => Promise<T>): Promise<{ readonly result: T; readonly calls: number; readonly stats: ArmCallStats }>;
}

/** A fixed bearer token (the ARM emulator accepts any non-empty one). Never expires, by design. */
export class StaticTokenCredential implements TokenCredential {
  constructor(private readonly token: string) {
    if (token.trim() === '') throw new ConfigError('the static ARM token is empty', 'VMSS_MESH_ARM_TOKEN');
  }

  async getToken(): Promise<AccessToken> {
    return { token: this.token, expiresOnTimestamp: Date.now() + 3600_000, tokenType: 'Bearer' };
  }
}

function credentialFor(config: AppConfig['arm'], override?: TokenCredential): TokenCredential {
  if (override) return override;
  if (config.staticToken !== undefined) return new StaticTokenCredential(config.staticToken);
  return new DefaultAzureCredential(config.clientId === undefined ? {} : { managedIdentityClientId: config.clientId });
}

function extraCa(config: AppConfig['arm'], caPem?: string): string | undefined {
  if (caPem !== undefined) return caPem;
  if (config.caFile === undefined) return undefined;
  try {
    return readFileSync(config.caFile, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${config.caFile}: ${error instanceof Error ? error.message : String(error)}`, 'VMSS_MESH_ARM_CA_FILE');
  }
}

/** Counts every HTTP attempt (runs after the retry policy, so it sees each retry). */
function meterPolicy(meter: ArmCallMeter): PipelinePolicy {
  return {
    name: 'vmssMeshArmMeter',
    async sendRequest(request, next) {
      try {
        const response = await next(request);
        meter.record(response.status);
        return response;
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode;
        meter.record(typeof status === 'number' ? status : undefined);
        throw error;
      }
    },
  };
}

/**
 * Records the remaining-reads headers of every answer to a read (runs per retry: a 429's headers
 * count too). Never throws: what it cannot read is reported and ignored.
 */
function budgetPolicy(budget: ArmReadBudget, onIgnored: (ignored: IgnoredBudgetHeader) => void): PipelinePolicy {
  return {
    name: 'vmssMeshArmBudget',
    async sendRequest(request, next) {
      const response = await next(request);
      if (request.method !== 'GET' && request.method !== 'HEAD') return response;
      try {
        const subscriptionId = subscriptionOfUrl(request.url);
        if (subscriptionId === undefined) return response;
        const { readings, ignored } = parseBudgetHeaders((name) => response.headers.get(name), subscriptionId, Date.now());
        for (const reading of readings) {
          budget.record(reading);
          reportToObservers(reading);
        }
        for (const item of ignored) onIgnored(item);
      } catch {
        // the budget is advice; the answer stands
      }
      return response;
    },
  };
}

/** The default for ignored budget headers: one warn line per header and minute. */
function logIgnoredBudgetHeaders(): (ignored: IgnoredBudgetHeader) => void {
  const lastLogged = new Map<string, number>();
  return (ignored) => {
    const now = Date.now();
    if (now - (lastLogged.get(ignored.header) ?? -Infinity) < 60_000) return;
    lastLogged.set(ignored.header, now);
    console.warn(JSON.stringify({ msg: `ignored ARM budget header ${ignored.header}: ${JSON.stringify(ignored.value)} (${ignored.reason})`, event: 'arm-budget-header-ignored', ...ignored }));
  };
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** Caps the sum of Retry-After waits of one call (see the module comment). */
function retryAfterBudgetPolicy(maxRetryAfterMs: number): PipelinePolicy {
  const waited = new WeakMap<PipelineRequest, number>();
  return {
    name: 'vmssMeshRetryAfterBudget',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 429 && response.status !== 503) return response;
      const wait = retryAfterMs({ get: (name) => response.headers.get(name) });
      if (wait === undefined) return response;
      const spent = waited.get(request) ?? 0;
      if (spent + wait > maxRetryAfterMs) {
        const url = new URL(request.url);
        throw new TransientError(
          `ARM throttled ${request.method} ${url.pathname} (${response.status}): Retry-After ${seconds(wait)} would exceed the ${seconds(maxRetryAfterMs)} retry budget (already waited ${seconds(spent)})`,
          'arm',
          wait,
        );
      }
      waited.set(request, spent + wait);
      return response;
    },
  };
}

/** One keep-alive agent trusting Node's roots plus `caPem`, its secure context built once (see the module comment). */
export function httpsAgentTrusting(caPem: string): Agent {
  return new Agent({ keepAlive: true, secureContext: createSecureContext({ ca: [...rootCertificates, caPem] }) });
}

export function createArmClients(config: AppConfig['arm'] & { readonly subscriptionId: string }, options: ArmClientOptions = {}): ArmClients {
  const credential = credentialFor(config, options.credential);
  const ca = extraCa(config, options.caPem);
  const meter = new ArmCallMeter();
  const retry = options.retry ?? {};
  const maxRetryAfterMs = retry.maxRetryAfterMs ?? 30_000;
  const agent = ca === undefined ? undefined : httpsAgentTrusting(ca);
  const clientOptions: ComputeManagementClientOptionalParams = {
    endpoint: config.endpoint,
    credentials: { scopes: [`${config.endpoint.replace(/\/+$/, '')}/.default`] },
    retryOptions: {
      maxRetries: retry.maxRetries ?? 3,
      retryDelayInMs: retry.retryDelayInMs ?? 800,
      maxRetryDelayInMs: retry.maxRetryDelayInMs ?? 10_000,
    },
    ...(agent === undefined ? {} : { agent }),
    additionalPolicies: [
      { policy: retryAfterBudgetPolicy(maxRetryAfterMs), position: 'perRetry' },
      { policy: meterPolicy(meter), position: 'perRetry' },
      { policy: budgetPolicy(options.budget ?? processArmReadBudget, options.onIgnoredBudgetHeader ?? logIgnoredBudgetHeaders()), position: 'perRetry' },
    ],
  };
  const cache = new Map<string, ArmClients>();
  const make = (subscriptionId: string): ArmClients => {
    const id = subscriptionId.toLowerCase();
    const cached = cache.get(id);
    if (cached) return cached;
    const clients: ArmClients = {
      subscriptionId: id,
      compute: new ComputeManagementClient(credential, id, clientOptions),
      network: new NetworkManagementClient(credential, id, clientOptions),
      meter,
      forSubscription: make,
      measureCalls: (work) => meter.measure(work),
    };
    cache.set(id, clients);
    return clients;
  };
  return make(config.subscriptionId);
}
