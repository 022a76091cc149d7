/**
 * Steady traffic per mesh service, through the relay, from a real proxyless xDS client. A
 * client starts once its service first answers (its instances take a while to be created): calls
 * before that are the service not existing yet, not failures of the mesh.
 */
import { errorMessage } from '../shared/errors';
import type { SandboxScaleSetSpec } from './scale-set-specs';
import { grpcBootstrap, XdsTraffic } from './traffic/xds-traffic';

export interface SteadyTrafficOptions {
  readonly relayAddress: string;
  readonly specs: readonly SandboxScaleSetSpec[];
  /** Registers how to stop a part (the clients, then all traffic). */
  readonly onClose: (what: string, run: () => Promise<void> | void) => void;
  /** True once the sandbox is stopping: a client that warms up then does not start. */
  readonly closing: () => boolean;
  readonly log: (line: string) => void;
}

/** The clients by service, and when they were made (the traffic window never reaches back before it). */
export function startSteadyTraffic(options: SteadyTrafficOptions): { readonly traffic: Map<string, XdsTraffic>; readonly started: number } {
  const { onClose } = options;
  const traffic = new Map<string, XdsTraffic>();
  for (const spec of options.specs) {
    const client = new XdsTraffic({ service: spec.service, bootstrap: grpcBootstrap({ serverUri: options.relayAddress, nodeId: `sandbox-client-${spec.service}` }), concurrency: 1, pauseMs: 20 });
    traffic.set(spec.service, client);
    onClose(`traffic client of ${spec.service}`, () => client.close());
  }
  const started = Date.now();
  onClose('traffic', () => Promise.all([...traffic.values()].map((t) => t.stop())).then(() => undefined));
  for (const client of traffic.values()) {
    void client
      .warmUp(120_000)
      .then(() => {
        if (!options.closing()) client.start();
      })
      .catch((error: unknown) => options.log(`traffic: ${errorMessage(error)}`));
  }
  return { traffic, started };
}
