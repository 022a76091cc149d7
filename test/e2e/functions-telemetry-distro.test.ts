/**
 * Azure Monitor's distro in the packaged app: its chunk (azure-monitor.js) is read only when
 * APPLICATIONINSIGHTS_CONNECTION_STRING is set — without it the app serves from a package that
 * lacks the chunk, with it that same package fails —, and with a connection string whose
 * ingestion endpoint is a loopback HTTPS server the app still serves and its metrics arrive there
 * when the worker shuts down (in a child process: test/helpers/telemetry-distro-child.ts). No
 * socket of that process leaves loopback (checked on every connect). A connection string the
 * distro rejects does not stop the app (it serves, without export).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createTestPki } from '../../src/sandbox/arm-emulator/tls';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { startFunctionsHost, type HostLogRecord } from '../../src/sandbox/functions-host/functions-host';
import { packagedApp } from '../../src/sandbox/functions-worker/packaged-app';

const CHUNK = 'azure-monitor.js';

function appCopy(t: { after(fn: () => unknown): void }, withoutChunk: boolean): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-telemetry-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(packagedApp().directory, dir, { recursive: true });
  if (withoutChunk) for (const file of [CHUNK, `${CHUNK}.map`]) rmSync(path.join(dir, file), { force: true });
  return dir;
}

async function consul(t: { after(fn: () => unknown): void }) {
  const double = await startConsulDouble();
  t.after(() => double.close());
  return double;
}

function settings(consulUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return { VMSS_MESH_SUBSCRIPTIONS: '00000000-0000-0000-0000-000000000001', CONSUL_HTTP_ADDR: consulUrl, VMSS_MESH_LOG_LEVEL: 'warn', ...extra };
}

/** An autoscale notification for an App Service plan: answered 200 and counted as ignored. */
const OTHER_RESOURCE_NOTIFICATION = {
  version: '1.0',
  status: 'Activated',
  operation: 'Scale Out',
  context: {
    timestamp: '2026-01-01T00:00:00Z',
    id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/plan',
    name: 'plan',
    details: '',
    subscriptionId: '00000000-0000-0000-0000-000000000001',
    resourceGroupName: 'rg',
    resourceName: 'plan',
    resourceType: 'microsoft.web/serverfarms',
    resourceId: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan',
    portalLink: 'https://portal.azure.com',
    resourceRegion: 'westeurope',
    oldCapacity: '1',
    newCapacity: '2',
  },
  properties: {},
};

async function exercise(url: string): Promise<{ status: number; autoscale: number }> {
  const status = await fetch(`${url}/api/status`);
  await status.body?.cancel();
  const autoscale = await fetch(`${url}/api/autoscaleWebhook`, { method: 'POST', body: JSON.stringify(OTHER_RESOURCE_NOTIFICATION) });
  await autoscale.body?.cancel();
  return { status: status.status, autoscale: autoscale.status };
}

test('without APPLICATIONINSIGHTS_CONNECTION_STRING the distro chunk is never read: the app serves from a package without it', async (t) => {
  const double = await consul(t);
  const appDirectory = appCopy(t, true);
  const host = await startFunctionsHost({ appDirectory, env: settings(double.url), port: 0, runTimers: false, log: () => undefined });
  t.after(() => host.close());
  assert.deepEqual(await exercise(host.url), { status: 200, autoscale: 200 });
  const metrics = await (await fetch(`${host.url}/metrics`)).text();
  assert.match(metrics, /^vmss_mesh_events_ignored_total\{reason="not-a-scale-set-autoscale",trigger="autoscale"\} 1$/m);
});

test('with the setting, the same package without the chunk fails its invocations (the chunk is what the setting loads)', async (t) => {
  const double = await consul(t);
  const appDirectory = appCopy(t, true);
  const logs: HostLogRecord[] = [];
  const env = settings(double.url, { APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/' });
  const host = await startFunctionsHost({ appDirectory, env, port: 0, runTimers: false, log: (r) => logs.push(r) });
  t.after(() => host.close());
  const { status } = await exercise(host.url);
  assert.notEqual(status, 200);
  assert.ok(logs.some((r) => r.message.includes(`Cannot find module './${CHUNK}'`)), logs.map((r) => r.message).join('\n'));
});

test('with a malformed connection string (the distro throws) the app still serves, and says once why nothing is exported', async (t) => {
  const double = await consul(t);
  const env = settings(double.url, { APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=not-a-guid;IngestionEndpoint=https://127.0.0.1:9/', APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true' });
  const host = await startFunctionsHost({ appDirectory: appCopy(t, false), env, port: 0, runTimers: false, log: () => undefined });
  t.after(() => host.close());
  // The runtime's own lines go to the console (the local host's worker runs in this process).
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  try {
    assert.deepEqual(await exercise(host.url), { status: 200, autoscale: 200 });
  } finally {
    console.warn = original;
  }
  const started = warnings.filter((line) => line.includes('telemetry-start-failed'));
  assert.equal(started.length, 1, warnings.join('\n'));
  assert.match(started[0] ?? '', /APPLICATIONINSIGHTS_CONNECTION_STRING/);
  assert.doesNotMatch(started[0] ?? '', /not-a-guid/);
});

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);

test('with a loopback connection string the distro loads, the app serves, and its metrics reach the ingestion endpoint at shutdown', async (t) => {
  const pki = await createTestPki({ caName: 'vmss-mesh telemetry test CA' });
  const caFile = path.join(mkdtempSync(path.join(tmpdir(), 'vmss-mesh-telemetry-ca-')), 'ca.pem');
  t.after(() => rmSync(path.dirname(caFile), { recursive: true, force: true }));
  writeFileSync(caFile, pki.caPem);
  const received: string[] = [];
  const ingestion = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      received.push(`${req.method} ${req.url} ${body}`);
      const items = body.trim().startsWith('[') ? (JSON.parse(body) as unknown[]).length : 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ itemsReceived: items, itemsAccepted: items, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => ingestion.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => ingestion.close(() => resolve())));
  const port = (ingestion.address() as net.AddressInfo).port;

  const double = await consul(t);
  const env = settings(double.url, {
    APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:${port}/;LiveEndpoint=https://127.0.0.1:${port}/`,
    // What Azure Functions sets: the distro's resource detection then knows the platform and does
    // not probe the VM metadata endpoint; statsbeat (the SDK's own usage metrics) is off in the test.
    WEBSITE_SITE_NAME: 'vmss-mesh-test',
    FUNCTIONS_EXTENSION_VERSION: '~4',
    APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
  });
  const input = { appDirectory: appCopy(t, false), env, autoscaleBody: JSON.stringify(OTHER_RESOURCE_NOTIFICATION) };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../helpers/telemetry-distro-child.ts')], {
    env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: caFile, TELEMETRY_CHILD_INPUT: JSON.stringify(input) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  // The child ends by itself once the host closed and the flush of the metrics is done.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  assert.equal(code, 0, `child exited with ${code}:\n${err.slice(-3000)}`);
  const report = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { answers: Record<string, number | string>; connectedTo: string[] };
  assert.equal(report.answers.status, 200);
  assert.equal(report.answers.autoscale, 200);
  assert.equal(report.answers.metrics, 404);
  assert.match(String(report.answers.metricsText), /Azure Monitor/);
  assert.equal(report.answers.closed, 1);
  const track = received.find((r) => r.includes('vmss_mesh_events_ignored'));
  assert.ok(track, `nothing with the app's metric reached the ingestion endpoint; received:\n${received.join('\n').slice(0, 2000)}\nchild stderr:\n${err.slice(-2000)}`);
  assert.match(track, /^POST \/v2(\.1)?\/track /);
  assert.ok(report.connectedTo.includes("127.0.0.1"), JSON.stringify(report.connectedTo));
  assert.deepEqual(report.connectedTo.filter((h) => !isLoopback(h)), [], 'a socket left loopback');
});
