/**
 * The local world the app runs in without Azure: the HTTPS ARM emulator, the Consul double, and
 * the Functions app in the local host, wired with the same settings a real deployment uses.
 * ARM operations are collected as they happen and delivered to `vmssEvents` as Event Grid would
 * deliver them (either schema, batched, duplicated or reordered on request).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startArmEmulator, type ArmEmulator } from './arm-emulator';
import type { ArmOperationRecord, IpAllocator, LifecycleDurations } from './arm-emulator';
import { startConsulDouble, type ConsulDouble } from './consul-double';
import { buildDeliveries, eventGridRequest, postWebhook, type DeliveryOptions, type WebhookResponse } from './event-grid';
import { startFunctionsHost, type FunctionsHost, type HostLogRecord } from './functions-host/functions-host';
import { startFuncHost } from './core-tools-host';

export const SANDBOX_SUBSCRIPTION = '00000000-0000-0000-0000-00000000a001';
export const SANDBOX_RESOURCE_GROUP = 'mesh-rg';

/** App settings by name, as a deployment has them (local.settings.json's `Values`). */
export type AppSettings = Readonly<Record<string, string>>;

export interface LocalWorldOptions {
  readonly lifecycle?: Partial<LifecycleDurations>;
  /** Instances' private IPs; default 127.0.1.1 upwards (a sandbox passes the block it claimed). */
  readonly ipAllocator?: IpAllocator;
  /** Push targets and token for the relay(s); none = no push. */
  readonly relayAddresses?: readonly string[];
  readonly relayToken?: string;
  /** Extra app settings (override the defaults below). */
  readonly settings?: AppSettings;
  /** Port of the local Functions host; default 0 (any free port). */
  readonly hostPort?: number;
  readonly runTimers?: boolean;
  readonly log?: (record: HostLogRecord) => void;
  /** Run the app under Azure Functions Core Tools (`func start`) with this binary instead of the local host. */
  readonly funcBinary?: string;
  /** Use the Consul at this URL (a real agent, or a double started by the caller) instead of starting a double. */
  readonly consulUrl?: string;
}

export interface LocalWorld {
  readonly arm: ArmEmulator;
  /** The Consul double this world started (throws when it was given `consulUrl`). */
  readonly consul: ConsulDouble;
  /** Where the app's Consul is. */
  readonly consulUrl: string;
  readonly host: FunctionsHost;
  /**
   * The app settings the Functions app runs with; in-process code that needs them takes them from
   * here (e.g. `createAppRuntime(loadConfig(world.settings), world.settings)`, `deadletter
   * replay`'s env), as this process's environment never holds them.
   */
  readonly settings: AppSettings;
  /** ARM operations not delivered yet, oldest first. */
  readonly pendingOperations: readonly ArmOperationRecord[];
  /** Delivers every pending operation to `vmssEvents` as Event Grid would; returns each POST's answer. */
  deliverPending(options?: DeliveryOptions): Promise<WebhookResponse[]>;
  /** Delivers the given operations (again), e.g. to replay duplicates or old events. */
  deliver(operations: readonly ArmOperationRecord[], options?: DeliveryOptions): Promise<WebhookResponse[]>;
  close(): Promise<void>;
}

export async function startLocalWorld(options: LocalWorldOptions = {}): Promise<LocalWorld> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-world-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    // Every cleanup runs even when one fails (ports and temp folders must not leak).
    const failures: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'closing the local world failed');
  };
  try {
    const pending: ArmOperationRecord[] = [];
    const arm = await startArmEmulator({ world: { lifecycle: options.lifecycle, ...(options.ipAllocator ? { ipAllocator: options.ipAllocator } : {}) }, onOperation: (op) => pending.push(op) });
    cleanups.push(() => arm.close());
    const double = options.consulUrl === undefined ? await startConsulDouble() : undefined;
    if (double) cleanups.push(() => double.close());
    const consulUrl = options.consulUrl ?? double!.url;
    const caFile = path.join(dir, 'arm-emulator-ca.pem');
    writeFileSync(caFile, arm.caPem);

    const settings: Record<string, string> = {
      VMSS_MESH_SUBSCRIPTIONS: SANDBOX_SUBSCRIPTION,
      VMSS_MESH_RESOURCE_GROUPS: SANDBOX_RESOURCE_GROUP,
      VMSS_MESH_ARM_ENDPOINT: arm.url,
      VMSS_MESH_ARM_TOKEN: 'sandbox-token',
      VMSS_MESH_ARM_CA_FILE: caFile,
      CONSUL_HTTP_ADDR: consulUrl,
      VMSS_MESH_RELAY_ADDRESSES: (options.relayAddresses ?? []).join(','),
      VMSS_MESH_RELAY_TOKEN: options.relayToken ?? '',
      ...options.settings,
    };
    // The settings reach the app as its own environment (below) and in-process callers as
    // `world.settings`; this process's environment is left alone.

    const host = options.funcBinary
      ? await startFuncHost({ funcBinary: options.funcBinary, settings, port: options.hostPort ?? 0 })
      : await startFunctionsHost({
          // The packaged app, loaded as the worker loads it, with these settings as its environment.
          env: { ...process.env, ...settings },
          port: options.hostPort ?? 0,
          runTimers: options.runTimers ?? false,
          log: options.log ?? (() => undefined),
        });
    cleanups.push(() => host.close());

    const deliver = async (operations: readonly ArmOperationRecord[], deliveryOptions: DeliveryOptions = {}) => {
      const responses: WebhookResponse[] = [];
      for (const delivery of buildDeliveries(operations, deliveryOptions)) {
        responses.push(await postWebhook(host.url, eventGridRequest(delivery)));
      }
      return responses;
    };
    return {
      arm,
      get consul(): ConsulDouble {
        if (!double) throw new TypeError('this local world uses an external Consul (consulUrl); it has no double');
        return double;
      },
      consulUrl,
      host,
      settings,
      get pendingOperations() {
        return [...pending];
      },
      deliverPending: (deliveryOptions) => deliver(pending.splice(0), deliveryOptions),
      deliver,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
