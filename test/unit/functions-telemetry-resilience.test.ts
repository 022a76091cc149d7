/**
 * Telemetry never stops the Functions app (src/functions/telemetry/index.ts): a connection string
 * Azure Monitor's distro rejects is logged once (naming the setting, not its values) and the app
 * runs without export — with the real distro, which throws before it registers any global
 * provider —; and close() gives up on a flush that never ends after its bound, logging it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECTION_STRING_SETTING, SHUTDOWN_FLUSH_TIMEOUT_MS, createAppTelemetry } from '../../src/functions/telemetry';

/** console.warn's lines while `fn` runs (restored after). */
async function warnings<T>(fn: () => Promise<T> | T): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    return { result: await fn(), lines };
  } finally {
    console.warn = original;
  }
}

test('a malformed connection string: the distro throws, one warning names the setting without its values, the app runs without export', async () => {
  const secretEndpoint = 'https://secret-ingestion.example.invalid/';
  const env = { [CONNECTION_STRING_SETTING]: `InstrumentationKey=not-a-guid;IngestionEndpoint=${secretEndpoint}`, APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true' };
  const { result: telemetry, lines } = await warnings(() => createAppTelemetry({ env }));
  assert.equal(telemetry.azureMonitor, false);
  assert.equal(lines.length, 1, lines.join('\n'));
  const line = JSON.parse(lines[0] ?? '{}') as { msg: string; event: string };
  assert.equal(line.event, 'telemetry-start-failed');
  assert.match(line.msg, new RegExp(CONNECTION_STRING_SETTING));
  assert.match(line.msg, /Invalid instrumentation key/);
  assert.doesNotMatch(lines[0] ?? '', /not-a-guid|secret-ingestion/);
  // What a reconcile records still works (no-op instruments), and close() settles.
  telemetry.metrics.ignored('autoscale', 'not-a-scale-set-autoscale');
  await telemetry.close();
});

test('close() gives up on a flush that never ends after its bound, logs it once, and is idempotent', async () => {
  assert.equal(SHUTDOWN_FLUSH_TIMEOUT_MS, 5_000);
  let shutdowns = 0;
  const telemetry = createAppTelemetry({
    env: { [CONNECTION_STRING_SETTING]: 'InstrumentationKey=00000000-0000-0000-0000-000000000000' },
    startAzureMonitor: () => ({ shutdown: () => (shutdowns++, new Promise<void>(() => undefined)) }),
    shutdownTimeoutMs: 20,
  });
  assert.equal(telemetry.azureMonitor, true);
  const { lines } = await warnings(async () => {
    await telemetry.close();
    await telemetry.close();
  });
  assert.equal(shutdowns, 1);
  assert.equal(lines.length, 1, lines.join('\n'));
  const line = JSON.parse(lines[0] ?? '{}') as { event: string; timeoutMs: number };
  assert.equal(line.event, 'telemetry-shutdown-timeout');
  assert.equal(line.timeoutMs, 20);
});

test('close() waits for a flush that ends within the bound and logs nothing', async () => {
  let flushed = false;
  const telemetry = createAppTelemetry({
    env: { [CONNECTION_STRING_SETTING]: 'InstrumentationKey=00000000-0000-0000-0000-000000000000' },
    startAzureMonitor: () => ({ shutdown: () => new Promise<void>((resolve) => setImmediate(() => ((flushed = true), resolve()))) }),
    shutdownTimeoutMs: 60_000,
  });
  const { lines } = await warnings(() => telemetry.close());
  assert.equal(flushed, true);
  assert.deepEqual(lines, []);
});
