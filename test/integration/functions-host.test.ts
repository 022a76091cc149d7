/**
 * The local Functions host against a small fixture app, bundled like the packaged one (esbuild,
 * `@azure/functions` inside, `@azure/functions-core` external) and loaded through the worker
 * stand-in: every request, delivery and tick goes through the library's own conversion code.
 * The fixture's handlers report what they got in their log lines (the host's log records).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFunctionsHost, type HostLogRecord } from '../../src/sandbox/functions-host/functions-host';
import { packagedApp } from '../../src/sandbox/functions-worker/packaged-app';
import { fixtureApp as bundledFixtureApp } from '../helpers/functions-fixture-app';

const ROOT = path.join(__dirname, '..', '..');

const FIXTURE = `
const { app } = require('@azure/functions');
app.eventGrid('vmssEvents', {
  handler: async (event, context) => {
    context.log('got', event.id, 'via', context.options.trigger.type);
    if (event.id === 'poison-transient') throw new Error('Consul unreachable');
    if (event.id === 'with-data') context.log('trigger metadata', JSON.stringify(context.triggerMetadata.data), context.triggerMetadata.sys.methodName);
  },
});
app.http('status', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'status',
  handler: async (request) => ({ jsonBody: { ok: true, q: request.query.get('x'), agent: request.headers.get('x-agent') } }),
});
app.http('autoscaleWebhook', {
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request) => ({ status: 200, headers: { 'x-echo': 'yes' }, jsonBody: { echoed: await request.json() } }),
});
app.http('items', { methods: ['GET', 'PUT'], route: 'items/{id:int}/{*rest}', handler: async (request) => ({ jsonBody: { params: request.params, method: request.method } }) });
app.http('broken', { methods: ['GET'], handler: async () => { throw new Error('handler bug'); } });
let runs = 0;
app.timer('reconcileTimer', {
  schedule: '0 0 0 1 1 *',
  handler: async (timer, context) => {
    runs += 1;
    context.log('timer run', runs, 'pastDue', timer.isPastDue, 'adjustForDST', timer.schedule.adjustForDST);
  },
});
let attempts = 0;
app.timer('flakyTimer', {
  schedule: '0 0 0 1 1 *',
  retry: { strategy: 'fixedDelay', maxRetryCount: 2, delayInterval: { milliseconds: 1 } },
  handler: async (timer, context) => {
    attempts += 1;
    context.log('flaky attempt', attempts, 'retryCount', context.retryContext ? context.retryContext.retryCount : 'none');
    throw new Error('transient');
  },
});
`;

/** The fixture (or another source) bundled into an app folder of its own. */
const fixtureApp = (t: { after(fn: () => void): void }, source = FIXTURE, hostJson?: object) => bundledFixtureApp(t, source, hostJson);

async function startFixtureHost(t: { after(fn: () => unknown): void }, logs: HostLogRecord[] = [], appDirectory = fixtureApp(t)) {
  const host = await startFunctionsHost({ appDirectory, env: {}, port: 0, runTimers: false, log: (r) => logs.push(r) });
  t.after(() => host.close());
  return host;
}

const got = (logs: readonly HostLogRecord[]) => logs.flatMap((l) => (l.functionName === 'vmssEvents' ? (/^got (\S+) via eventGridTrigger$/.exec(l.message)?.slice(1) ?? []) : []));

const post = (url: string, body: unknown, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('local host: Event Grid handshake, one invocation per event through the worker, failures answer 500', async (t) => {
  const logs: HostLogRecord[] = [];
  const host = await startFixtureHost(t, logs);
  const route = `${host.url}/runtime/webhooks/eventgrid?functionName=vmssEvents`;

  const validation = await post(route, [{ id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'abc-123' } }], { 'aeg-event-type': 'SubscriptionValidation' });
  assert.equal(validation.status, 200);
  assert.deepEqual(await validation.json(), { validationResponse: 'abc-123' });
  assert.deepEqual(got(logs), [], 'the host answers the handshake; the function is not invoked');

  // A CloudEvents handshake with its data JSON-encoded in a string.
  const cloudValidation = await post(route, { specversion: '1.0', id: 'v2', type: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: JSON.stringify({ validationCode: 'ce-code' }) }, { 'aeg-event-type': 'SubscriptionValidation' });
  assert.deepEqual(await cloudValidation.json(), { validationResponse: 'ce-code' });

  const ok = await post(route, [{ id: 'e1' }, { id: 'e2' }, { id: 'e3' }], { 'aeg-event-type': 'Notification' });
  assert.equal(ok.status, 202);
  assert.deepEqual(got(logs).sort(), ['e1', 'e2', 'e3']);
  const invocations = new Set(logs.filter((l) => l.functionName === 'vmssEvents').map((l) => l.invocationId));
  assert.equal(invocations.size, 3, 'one invocation per event');
  logs.length = 0;

  assert.equal((await post(route, [{ id: 'with-data', data: { a: [1] } }], { 'aeg-event-type': 'Notification' })).status, 202);
  assert.ok(logs.some((l) => l.message === 'trigger metadata {"a":[1]} vmssEvents'), 'the event\'s data and sys reach context.triggerMetadata');

  const single = await post(route, { id: 'ce1', specversion: '1.0' }, { 'aeg-event-type': 'Notification' });
  assert.equal(single.status, 202, 'a CloudEvents structured-mode single event is accepted');
  assert.ok(got(logs).includes('ce1'));

  const failing = await post(route, [{ id: 'e4' }, { id: 'poison-transient' }], { 'aeg-event-type': 'Notification' });
  assert.equal(failing.status, 500);
  assert.match(await failing.text(), /^Exception while executing function: vmssEvents \(1 of 2 invocations failed/);
  assert.ok(logs.some((l) => l.functionName === 'vmssEvents' && l.level === 'error' && /^Executed 'vmssEvents' \(Failed, Id=.*\): Consul unreachable$/.test(l.message)));

  assert.equal((await post(route, [{ id: 'x' }], {})).status, 400, 'missing aeg-event-type');
  assert.equal((await fetch(route, { method: 'POST', body: '{not json', headers: { 'aeg-event-type': 'Notification' } })).status, 400);
  assert.equal((await post(`${host.url}/runtime/webhooks/eventgrid?functionName=nope`, [], { 'aeg-event-type': 'Notification' })).status, 404);
  assert.equal((await post(`${host.url}/runtime/webhooks/eventgrid?functionName=status`, [], { 'aeg-event-type': 'Notification' })).status, 404, 'an HTTP function is no Event Grid target');
});

test('local host: routes, methods and params from the registered bindings, HTTP answers converted by the library, timers through the admin API', async (t) => {
  const logs: HostLogRecord[] = [];
  const host = await startFixtureHost(t, logs);
  assert.deepEqual(host.routes, [
    { functionName: 'status', methods: ['GET'], path: '/api/status', authLevel: 'function' },
    { functionName: 'autoscaleWebhook', methods: ['POST'], path: '/api/autoscaleWebhook', authLevel: 'function' },
    { functionName: 'items', methods: ['GET', 'PUT'], path: '/api/items/{id:int}/{*rest}', authLevel: 'anonymous' },
    { functionName: 'broken', methods: ['GET'], path: '/api/broken', authLevel: 'anonymous' },
  ]);

  const status = await fetch(`${host.url}/api/status?x=1`, { headers: { 'X-Agent': 'test' } });
  assert.equal(status.status, 200);
  assert.equal(status.headers.get('content-type'), 'application/json');
  assert.deepEqual(await status.json(), { ok: true, q: '1', agent: 'test' });
  assert.equal((await fetch(`${host.url}/api/STATUS/`)).status, 200, 'routes match case-insensitively');
  assert.equal((await fetch(`${host.url}/api/status`, { method: 'DELETE' })).status, 405);
  const hook = await post(`${host.url}/api/autoscaleWebhook`, { a: 1 }, {});
  assert.equal(hook.headers.get('x-echo'), 'yes');
  assert.deepEqual(await hook.json(), { echoed: { a: 1 } });
  const item = await fetch(`${host.url}/api/items/42/a/b%20c`, { method: 'PUT', body: 'x' });
  assert.deepEqual(await item.json(), { params: { id: '42', rest: 'a/b c' }, method: 'PUT' });
  assert.equal((await fetch(`${host.url}/api/nothing`)).status, 404);
  const broken = await fetch(`${host.url}/api/broken`);
  assert.equal(broken.status, 500);
  assert.equal(await broken.text(), 'Exception while executing function: broken');

  await host.invoke('reconcileTimer');
  assert.ok(logs.some((l) => l.functionName === 'reconcileTimer' && l.message === 'timer run 1 pastDue false adjustForDST true'), 'TimerInfo reached the handler camel-cased');
  assert.equal((await fetch(`${host.url}/admin/functions/reconcileTimer`, { method: 'POST', body: '{}' })).status, 202);
  await waitFor(() => logs.some((l) => l.message.startsWith('timer run 2 ')), 'the admin API run');
  await assert.rejects(host.invoke('status'), /no timer function named status/);
});

test('local host: a timer with a retry policy is retried with its retry context when it fails on schedule', async (t) => {
  const logs: HostLogRecord[] = [];
  const source = FIXTURE.replace("schedule: '0 0 0 1 1 *',\n  retry:", "schedule: '* * * * * *',\n  retry:");
  const appDirectory = fixtureApp(t, source);
  const host = await startFunctionsHost({ appDirectory, env: {}, port: 0, runTimers: true, log: (r) => logs.push(r) });
  t.after(() => host.close());
  await waitFor(() => logs.some((l) => / retryCount 2$/.test(l.message)), 'the second retry');
  const attempts = logs.filter((l) => l.functionName === 'flakyTimer' && l.message.startsWith('flaky attempt')).map((l) => l.message.replace(/^flaky attempt \d+ /, ''));
  assert.deepEqual(attempts.slice(0, 3), ['retryCount 0', 'retryCount 1', 'retryCount 2']);
  assert.ok(logs.some((l) => l.functionName === 'host' && /flakyTimer: retry 1 of 2/.test(l.message)));
});

test('local host: a tick that falls during a retry delay is skipped; the retry still runs (the run holds the singleton through its retries)', async (t) => {
  const logs: HostLogRecord[] = [];
  // Ticks every second, one retry 1.5 s after a failure: the next tick falls inside the delay.
  const source = FIXTURE.replace("schedule: '0 0 0 1 1 *',\n  retry: { strategy: 'fixedDelay', maxRetryCount: 2, delayInterval: { milliseconds: 1 } },", "schedule: '* * * * * *',\n  retry: { strategy: 'fixedDelay', maxRetryCount: 1, delayInterval: { milliseconds: 1500 } },");
  assert.notEqual(source, FIXTURE);
  const host = await startFunctionsHost({ appDirectory: fixtureApp(t, source), env: {}, port: 0, runTimers: true, log: (r) => logs.push(r) });
  t.after(() => host.close());
  await waitFor(() => logs.some((l) => / retryCount 1$/.test(l.message)), 'the retry');
  const lines = logs.filter((l) => (l.functionName === 'flakyTimer' && l.message.startsWith('flaky attempt')) || (l.functionName === 'host' && l.message.startsWith('flakyTimer: ')));
  const shown = lines.map((l) => l.message.replace(/^flaky attempt \d+ /, '').replace(/^flakyTimer: (retry 1|previous run still in progress).*/, '$1'));
  const retried = shown.indexOf('retryCount 1');
  assert.deepEqual(shown.slice(0, 2), ['retryCount 0', 'retry 1'], shown.join(' | '));
  assert.ok(shown.slice(2, retried).length > 0 && shown.slice(2, retried).every((m) => m === 'previous run still in progress'), `only skipped ticks between the failure and its retry: ${shown.join(' | ')}`);
});

/** A stack frame line as V8 prints it ("    at fn (file:1:2)"): no answer of the host may carry one. */
const STACK_FRAME = /\n\s+at .+[(:]/;

test('local host (D6): bad JSON to the admin API is a 400 with a message, not an unhandled 500', async (t) => {
  const logs: HostLogRecord[] = [];
  const host = await startFixtureHost(t, logs);

  const bad = await fetch(`${host.url}/admin/functions/vmssEvents`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
  const text = await bad.text();
  assert.equal(bad.status, 400, text);
  assert.match(text, /^request body is not JSON: /);
  assert.doesNotMatch(text, STACK_FRAME);
  assert.ok(!logs.some((l) => l.message.startsWith('unhandled')), 'no unhandled error in the host log');
  assert.deepEqual(got(logs), [], 'nothing was invoked');

  // The admin API's body is {"input": ...} (a FunctionInvocation); anything else is a 400 too.
  for (const body of ['[1]', '"x"', 'null']) {
    const response = await fetch(`${host.url}/admin/functions/reconcileTimer`, { method: 'POST', body });
    assert.equal(response.status, 400, `${body} → ${response.status}`);
    assert.match(await response.text(), /^request body must be a JSON object like \{"input": \.\.\.\}/);
  }
  // An Event Grid function's input is the event, as a JSON string (how the portal's Test/Run sends it) or as JSON.
  assert.equal((await fetch(`${host.url}/admin/functions/vmssEvents`, { method: 'POST', body: JSON.stringify({ input: JSON.stringify({ id: 'as-string' }) }) })).status, 202);
  assert.equal((await fetch(`${host.url}/admin/functions/vmssEvents`, { method: 'POST', body: JSON.stringify({ input: { id: 'as-json' } }) })).status, 202);
  const badInput = await fetch(`${host.url}/admin/functions/vmssEvents`, { method: 'POST', body: JSON.stringify({ input: '{oops' }) });
  assert.equal(badInput.status, 400);
  assert.match(await badInput.text(), /^input is not a JSON event: /);
  await waitFor(() => got(logs).length >= 2, 'both admin invocations');
  assert.deepEqual(got(logs).sort(), ['as-json', 'as-string']);

  const unknown = await fetch(`${host.url}/admin/functions/nope`, { method: 'POST', body: '{}' });
  assert.equal(unknown.status, 404);
  assert.equal(await unknown.text(), "cannot find function: 'nope'");
  assert.equal((await fetch(`${host.url}/admin/functions/status`, { method: 'POST', body: '{}' })).status, 404, 'HTTP functions are not run by the admin API');
});

test('local host (D6): 4xx bodies are the Functions host messages, never a stack trace', async (t) => {
  const host = await startFixtureHost(t);
  const route = `${host.url}/runtime/webhooks/eventgrid?functionName=vmssEvents`;

  const notJson = await fetch(route, { method: 'POST', body: '{not json', headers: { 'aeg-event-type': 'Notification' } });
  const notJsonText = await notJson.text();
  assert.equal(notJson.status, 400);
  assert.match(notJsonText, /^request body is not JSON: /);
  assert.doesNotMatch(notJsonText, STACK_FRAME);
  assert.doesNotMatch(notJsonText, /SyntaxError/, 'the message, not the error class and its trace');

  // The Event Grid extension's own answers (Microsoft.Azure.WebJobs.Extensions.EventGrid).
  const missing = await post(`${host.url}/runtime/webhooks/eventgrid?functionName=nope`, [], { 'aeg-event-type': 'Notification' });
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), "cannot find function: 'nope'");
  const scalar = await fetch(route, { method: 'POST', body: '42', headers: { 'aeg-event-type': 'Notification' } });
  assert.equal(scalar.status, 400);
  assert.equal(await scalar.text(), 'The request content should be parseable into a JSON object or array, but was a number.');
  // aeg-event-type is matched case-insensitively, and Unsubscribe is accepted, as the extension does.
  assert.equal((await post(route, [{ id: 'lower' }], { 'aeg-event-type': 'notification' })).status, 202);
  assert.equal((await post(route, [], { 'aeg-event-type': 'Unsubscribe' })).status, 202);
});

test('local host (D6): a request Node cannot parse is answered with a status and a one-line message, not a bare status line', async (t) => {
  const host = await startFixtureHost(t);
  const url = new URL(host.url);
  const exchange = (raw: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.end(raw);
    });
  const malformed = await exchange('GET / HTTP/1.1 x\r\n\r\n');
  assert.match(malformed, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(malformed, /\r\n\r\nmalformed HTTP request \(HPE_[A-Z_]+\)$/);
  const huge = await exchange(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n[\s\S]*\r\n\r\nrequest headers too large$/);
});

test('local host: two hosts in one process each run their own app instance with their own settings; host.json sets the route prefix', async (t) => {
  const source = `
const { app } = require('@azure/functions');
let calls = 0;
app.http('whoami', { methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ jsonBody: { who: process.env.WHO, calls: ++calls } }) });
`;
  const appDirectory = fixtureApp(t, source, { version: '2.0', extensions: { http: { routePrefix: 'v1/fn' } } });
  const a = await startFunctionsHost({ appDirectory, env: { WHO: 'a' }, port: 0, log: () => undefined });
  t.after(() => a.close());
  const b = await startFunctionsHost({ appDirectory, env: { WHO: 'b' }, port: 0, log: () => undefined });
  t.after(() => b.close());
  const ask = async (url: string) => (await fetch(`${url}/v1/fn/whoami`)).json();
  assert.deepEqual(await ask(a.url), { who: 'a', calls: 1 });
  assert.deepEqual(await ask(a.url), { who: 'a', calls: 2 });
  assert.deepEqual(await ask(b.url), { who: 'b', calls: 1 }, 'the second host has its own module state and environment');
  assert.equal((await fetch(`${a.url}/api/whoami`)).status, 404);
  assert.equal(process.env.WHO, undefined);
});

test('local host: without an app folder it serves the packaged app (dist/functions-app)', async (t) => {
  const host = await startFunctionsHost({ env: { VMSS_MESH_SUBSCRIPTIONS: '00000000-0000-0000-0000-000000000001', CONSUL_HTTP_ADDR: 'http://127.0.0.1:9' }, port: 0, runTimers: false, log: () => undefined });
  t.after(() => host.close());
  assert.equal(host.app.entryPoint, path.join(ROOT, 'dist', 'functions-app', 'main.js'));
  assert.deepEqual(host.app.functions.map((f) => f.metadata.name), ['vmssEvents', 'autoscaleWebhook', 'reconcileTimer', 'status']);
  assert.deepEqual(host.routes, [
    { functionName: 'autoscaleWebhook', methods: ['POST'], path: '/api/autoscaleWebhook', authLevel: 'function' },
    { functionName: 'status', methods: ['GET'], path: '/api/status', authLevel: 'function' },
  ]);
  const notJson = await fetch(`${host.url}/api/autoscaleWebhook`, { method: 'POST', body: '{oops' });
  assert.equal(notJson.status, 400);
  assert.match(((await notJson.json()) as { error: string }).error, /^body is not JSON/);
});

test('local host: outside a checkout, a missing package is an error that says how to build it', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-no-package-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => packagedApp(dir), { name: 'PackagedAppMissingError', message: /dist\/functions-app\/\) was not found above .*: build it with `npm run build` \(or `npm run package`\)/ });
});

test('local host: close() returns while an invocation hangs (its connection is cut after a short grace)', async (t) => {
  const logs: HostLogRecord[] = [];
  const source = `${FIXTURE}\napp.http('hang', { methods: ['GET'], handler: async (request, context) => { context.log('hanging'); return new Promise(() => undefined); } });\n`;
  const host = await startFixtureHost(t, logs, fixtureApp(t, source));
  const idle = await fetch(`${host.url}/api/status`);
  await idle.text(); // a keep-alive connection left idle
  const hung = fetch(`${host.url}/api/hang`).then(
    () => 'answered',
    () => 'cut',
  );
  await waitFor(() => logs.some((l) => l.functionName === 'hang' && l.message === 'hanging'), 'the hanging invocation');
  const started = Date.now();
  await host.close();
  assert.ok(Date.now() - started < 5_000, `close() took ${Date.now() - started} ms`);
  assert.equal(await hung, 'cut');
});

test('local host: inFlight() counts a request until it is answered, and a timer run through its retry delay', async (t) => {
  const logs: HostLogRecord[] = [];
  const source = `${FIXTURE}
let release;
const gate = new Promise((resolve) => (release = resolve));
app.http('held', { methods: ['GET'], handler: async (request, context) => { context.log('holding'); await gate; return { body: 'released' }; } });
app.http('release', { methods: ['POST'], handler: async () => { release(); return { status: 204 }; } });
let tries = 0;
app.timer('retriedTimer', {
  schedule: '0 0 0 1 1 *',
  runOnStartup: true,
  retry: { strategy: 'fixedDelay', maxRetryCount: 1, delayInterval: { seconds: 1 } },
  handler: async (timer, context) => {
    tries += 1;
    context.log('retried attempt', tries);
    if (tries === 1) throw new Error('transient');
  },
});
`;
  const appDirectory = fixtureApp(t, source);
  const host = await startFixtureHost(t, logs, appDirectory);
  assert.equal(host.inFlight(), 0, 'nothing in flight before the first request');
  const held = fetch(`${host.url}/api/held`).then((r) => r.text());
  await waitFor(() => logs.some((l) => l.functionName === 'held' && l.message === 'holding'), 'the held invocation');
  assert.ok(host.inFlight() > 0, `a running handler is in flight (${host.inFlight()})`);
  assert.equal((await fetch(`${host.url}/api/release`, { method: 'POST' })).status, 204);
  assert.equal(await held, 'released');
  await waitFor(() => host.inFlight() === 0, 'nothing in flight once both requests are answered');

  // A timer run: in flight during its attempts and while it waits to retry (no invocation running then).
  const timed = await startFunctionsHost({ appDirectory, env: {}, port: 0, runTimers: true, log: (r) => logs.push(r) });
  t.after(() => timed.close());
  await waitFor(() => logs.some((l) => l.functionName === 'host' && /retriedTimer: retry 1 of 1/.test(l.message)), 'the retry delay');
  assert.ok(timed.inFlight() > 0, 'a timer run waiting to retry is in flight');
  await waitFor(() => logs.some((l) => l.message === 'retried attempt 2'), 'the retry');
  await waitFor(() => timed.inFlight() === 0, 'nothing in flight once the retried run has ended');
});
