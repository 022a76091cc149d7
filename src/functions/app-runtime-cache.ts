/**
 * The process's one app runtime (app-runtime.ts), as the functions see it: built once per worker
 * from the app settings, on first use (so a bad setting surfaces as a failed invocation with a
 * clear message, and Event Grid keeps retrying until the operator fixes it — nothing is lost).
 * In Azure the worker's environment is the app settings; code that runs a handler in-process with
 * settings of its own (`vmss-mesh deadletter replay`) builds its own runtime and hands it to the
 * handler (handleVmssEvent) instead of writing them into `process.env`.
 */
import type { AppRuntime } from './app-runtime';

let current: AppRuntime | undefined;

export function getAppRuntime(): AppRuntime {
  if (!current) {
    // Required here, not imported: the runtime's modules (ARM SDKs, identity, Consul, gRPC, the
    // settings' schemas: most of the app's code) load when the first invocation needs them, not
    // when the worker loads the app to register the functions. esbuild still bundles both
    // (build/functions-app.mjs puts their npm packages in vendor.js, read only from here on).
    const { loadConfig } = require('../shared/config') as typeof import('../shared/config');
    const { createAppRuntime } = require('./app-runtime') as typeof import('./app-runtime');
    current = createAppRuntime(loadConfig(process.env));
  }
  return current;
}

/**
 * Drops the cached runtime and closes it (the appTerminate hook: a worker, or the local host,
 * stopping); the promise settles once telemetry has flushed, which the hook waits on.
 */
export function resetAppRuntime(): Promise<void> {
  const closing = current?.close() ?? Promise.resolve();
  current = undefined;
  return closing;
}
