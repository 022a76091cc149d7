import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { HttpRequest } from '@azure/functions';
import type { FunctionDefinition } from '../../src/functions/definitions';
import { startFunctionsHost, type HostLogRecord } from '../../src/sandbox/functions-host/functions-host';

function definitions(seen: unknown[]) {
  let timerRuns = 0;
  const defs: FunctionDefinition[] = [
    {
      kind: 'eventGrid',
      name: 'vmssEvents',
      options: {
        handler: async (event, context) => {
          seen.push(event);
          context.log('got', (event as { id?: string }).id);
          if ((event as { id?: string }).id === 'poison-transient') throw new Error('Consul unreachable');
        },
      },
    },
    {
      kind: 'http',
      name: 'status',
      options: {
        methods: ['GET'],
        authLevel: 'function',
        route: 'status',
        handler: async (request: HttpRequest) => ({ jsonBody: { ok: true, q: request.query.get('x') } }),
      },
    },
    {
      kind: 'http',
      name: 'autoscaleWebhook',
      options: {
        methods: ['POST'],
        authLevel: 'function',
        handler: async (request: HttpRequest) => ({ status: 200, jsonBody: { echoed: await request.json() } }),
      },
    },
    { kind: 'timer', name: 'reconcileTimer', options: { schedule: '0 0 0 1 1 *', handler: async () => void (timerRuns += 1) } },
  ];
  return { defs, timerRuns: () => timerRuns };
}

const post = (url: string, body: unknown, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

test('local host: Event Grid handshake, one invocation per event, failures answer 500', async (t) => {
  const seen: unknown[] = [];
  const logs: HostLogRecord[] = [];
  const host = await startFunctionsHost({ definitions: definitions(seen).defs, port: 0, log: (r) => logs.push(r) });
  t.after(() => host.close());
  const route = `${host.url}/runtime/webhooks/eventgrid?functionName=vmssEvents`;

  const validation = await post(route, [{ id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'abc-123' } }], { 'aeg-event-type': 'SubscriptionValidation' });
  assert.equal(validation.status, 200);
  assert.deepEqual(await validation.json(), { validationResponse: 'abc-123' });
  assert.equal(seen.length, 0);

  const ok = await post(route, [{ id: 'e1' }, { id: 'e2' }, { id: 'e3' }], { 'aeg-event-type': 'Notification' });
  assert.equal(ok.status, 202);
  assert.deepEqual(seen.map((e) => (e as { id: string }).id).sort(), ['e1', 'e2', 'e3']);
  assert.ok(logs.some((l) => l.functionName === 'vmssEvents' && l.message === 'got e2'));

  const single = await post(route, { id: 'ce1', specversion: '1.0' }, { 'aeg-event-type': 'Notification' });
  assert.equal(single.status, 202, 'a CloudEvents structured-mode single event is accepted');

  const failing = await post(route, [{ id: 'e4' }, { id: 'poison-transient' }], { 'aeg-event-type': 'Notification' });
  assert.equal(failing.status, 500);
  assert.match(await failing.text(), /^Exception while executing function: vmssEvents \(1 of 2 invocations failed/);

  assert.equal((await post(route, [{ id: 'x' }], {})).status, 400, 'missing aeg-event-type');
  assert.equal((await fetch(route, { method: 'POST', body: '{not json', headers: { 'aeg-event-type': 'Notification' } })).status, 400);
  assert.equal((await post(`${host.url}/runtime/webhooks/eventgrid?functionName=nope`, [], { 'aeg-event-type': 'Notification' })).status, 404);
});

test('local host: HTTP routes, methods, and running a timer through the admin API', async (t) => {
  const seen: unknown[] = [];
  const d = definitions(seen);
  const host = await startFunctionsHost({ definitions: d.defs, port: 0, log: () => undefined });
  t.after(() => host.close());

  const status = await fetch(`${host.url}/api/status?x=1`);
  assert.equal(status.status, 200);
  assert.deepEqual(await status.json(), { ok: true, q: '1' });
  assert.equal((await fetch(`${host.url}/api/status`, { method: 'DELETE' })).status, 405);
  const hook = await post(`${host.url}/api/autoscaleWebhook`, { a: 1 }, {});
  assert.deepEqual(await hook.json(), { echoed: { a: 1 } });
  assert.equal((await fetch(`${host.url}/api/nothing`)).status, 404);

  await host.invoke('reconcileTimer');
  assert.equal(d.timerRuns(), 1);
  assert.equal((await fetch(`${host.url}/admin/functions/reconcileTimer`, { method: 'POST', body: '{}' })).status, 202);
});

/** A stack frame line as V8 prints it ("    at fn (file:1:2)"): no answer of the host may carry one. */
const STACK_FRAME = /\n\s+at .+[(:]/;

test('local host (D6): bad JSON to the admin API is a 400 with a message, not an unhandled 500', async (t) => {
  const seen: unknown[] = [];
  const logs: HostLogRecord[] = [];
  const host = await startFunctionsHost({ definitions: definitions(seen).defs, port: 0, log: (r) => logs.push(r) });
  t.after(() => host.close());

  const bad = await fetch(`${host.url}/admin/functions/vmssEvents`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
  const text = await bad.text();
  assert.equal(bad.status, 400, text);
  assert.match(text, /^request body is not JSON: /);
  assert.doesNotMatch(text, STACK_FRAME);
  assert.ok(!logs.some((l) => l.message.startsWith('unhandled')), 'no unhandled error in the host log');
  assert.equal(seen.length, 0, 'nothing was invoked');

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
  const deadline = Date.now() + 10_000;
  while (seen.length < 2) {
    assert.ok(Date.now() < deadline, `only ${seen.length} of 2 invocations ran`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(seen.map((e) => (e as { id: string }).id).sort(), ['as-json', 'as-string']);

  const unknown = await fetch(`${host.url}/admin/functions/nope`, { method: 'POST', body: '{}' });
  assert.equal(unknown.status, 404);
  assert.equal(await unknown.text(), "cannot find function: 'nope'");
});

test('local host (D6): 4xx bodies are the Functions host messages, never a stack trace', async (t) => {
  const host = await startFunctionsHost({ definitions: definitions([]).defs, port: 0, log: () => undefined });
  t.after(() => host.close());
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
  const host = await startFunctionsHost({ definitions: definitions([]).defs, port: 0, log: () => undefined });
  t.after(() => host.close());
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
