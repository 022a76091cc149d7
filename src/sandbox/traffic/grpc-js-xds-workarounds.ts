/**
 * Work-arounds for bugs of @grpc/grpc-js-xds 1.14.1 (the newest release), for the sandbox's own
 * proxyless clients (traffic, chaos probe): they should show the mesh's behaviour, not the
 * library's. Each checks that the code it mends is there and does nothing otherwise (another
 * version), and each is named in the README ("Running against real Azure, Consul and Envoy") so
 * users of the stock library know what their clients do. VMSS_MESH_STOCK_GRPC_XDS=1 runs the
 * library as it is.
 */

/** Loads the library through `load` with the work-arounds applied (call it once per process). */
export function loadGrpcJsXds(load: () => void): void {
  const restore = process.env.VMSS_MESH_STOCK_GRPC_XDS === '1' ? () => undefined : resetAdsBackoffOnResponse();
  try {
    load();
  } finally {
    restore();
  }
  if (process.env.VMSS_MESH_STOCK_GRPC_XDS !== '1') clearPriorityRetentionOnDestroy();
}

const XDS_CLIENT_FILE = /[\\/]@grpc[\\/]grpc-js-xds[\\/]build[\\/]src[\\/]xds-client\.js$/;
/** The ADS call's response handler (the LRS call has one of the same name). */
const ADS_RESPONSE_HANDLER = /(handleResponseMessage\(message\) \{\n)(\s*const parser = new AdsResponseParser\(this\);)/;
/** Whether the sandbox's proxyless clients run with the ADS backoff fix (see resetAdsBackoffOnResponse). */
export let adsBackoffFix: 'applied' | 'off' | 'not applicable' = 'off';

/**
 * @grpc/grpc-js-xds 1.14.1 (the latest) never resets the backoff of its ADS stream: every stream
 * start runs the backoff once (1 s × 1.6ⁿ, up to 120 s) and `onAdsStreamReceivedMessage`, which
 * should reset it when the server answers (gRFC A57), is never called. Each relay restart so costs
 * a client one step for good: after about ten it waits up to two minutes before it reconnects,
 * serving calls from endpoints that may all be gone meanwhile (the chaos soak's many "no
 * endpoint" calls). The sandbox's clients get the reset the library means to do, so they show
 * the mesh's behaviour and not that bug; VMSS_MESH_STOCK_GRPC_XDS=1 runs the library as it is.
 * Applied by rewriting that one module while the library loads (the returned function undoes the
 * hook); if the module was loaded before, or its text is not as expected (another version, or
 * one that calls the reset itself), nothing is changed.
 */
function resetAdsBackoffOnResponse(): () => void {
  const Module = require('node:module') as { prototype: { _compile: (content: string, filename: string) => unknown } };
  const compile = Module.prototype._compile;
  adsBackoffFix = 'not applicable';
  Module.prototype._compile = function (this: unknown, content: string, filename: string) {
    if (XDS_CLIENT_FILE.test(filename) && ADS_RESPONSE_HANDLER.test(content) && !content.includes('.onAdsStreamReceivedMessage();')) {
      content = content.replace(ADS_RESPONSE_HANDLER, '$1this.receivedAnyResponse = true; this.client.onAdsStreamReceivedMessage();\n$2');
      adsBackoffFix = 'applied';
    }
    return compile.call(this, content, filename);
  };
  return () => void (Module.prototype._compile = compile);
}

type PriorityBalancerPrototype = { destroy(this: { children?: Map<string, { deactivationTimer?: NodeJS.Timeout | null }> }): void };

/**
 * @grpc/grpc-js-xds 1.14.1 keeps a priority it stopped using for 15 minutes (PriorityChildImpl
 * `deactivate`: a setTimeout it never unrefs) and its balancer's `destroy()` does not clear that
 * timer. A closed probe client that ever dropped a priority (a locality gone at a scale-in) so
 * kept the process alive for up to 15 minutes after the soak. Destroying the balancer now clears
 * its children's retention timers (they would only have deleted those children).
 */
function clearPriorityRetentionOnDestroy(): void {
  const loaded = require('@grpc/grpc-js-xds/build/src/load-balancer-priority') as { PriorityLoadBalancer?: { prototype: PriorityBalancerPrototype } };
  const prototype = loaded.PriorityLoadBalancer?.prototype;
  if (!prototype || typeof prototype.destroy !== 'function') return;
  const destroy = prototype.destroy;
  prototype.destroy = function (this: ThisParameterType<PriorityBalancerPrototype['destroy']>) {
    for (const child of this.children?.values() ?? []) if (child.deactivationTimer) clearTimeout(child.deactivationTimer);
    destroy.call(this);
  };
}
