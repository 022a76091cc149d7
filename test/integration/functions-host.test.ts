import { test } from 'node:test';
import assert from 'node:assert/strict';
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
  assert.match(((await failing.json()) as { error: string }).error, /1 of 2 invocations failed/);

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
