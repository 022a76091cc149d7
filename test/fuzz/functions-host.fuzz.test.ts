/**
 * Hostile clients against the local Functions host, over HTTP: random methods, request targets,
 * headers and bodies on every route, each request through the worker stand-in and the library's
 * conversion code. The fuzz functions never fail, so any 5xx is the host's own fault; a 4xx must
 * carry a message and no stack trace; nothing may end as an unhandled error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { startFunctionsHost, type HostLogRecord } from '../../src/sandbox/functions-host/functions-host';
import { fixtureApp } from '../helpers/functions-fixture-app';
import { fuzz } from '../helpers/fuzz-runs';

const STACK_FRAME = /\n\s+at .+[(:]/;

/** Functions that never fail, so a 5xx is the host's (or the worker path's) own fault. */
const FIXTURE = `
const { app } = require('@azure/functions');
app.eventGrid('vmssEvents', { handler: async () => undefined });
app.http('status', { methods: ['GET'], authLevel: 'function', route: 'status', handler: async (request) => ({ jsonBody: { q: request.query.get('x') } }) });
app.http('autoscaleWebhook', { methods: ['POST'], authLevel: 'function', handler: async (request) => ({ status: 200, body: 'read ' + (await request.text()).length + ' characters' }) });
app.timer('reconcileTimer', { schedule: '0 0 0 1 1 *', handler: async () => undefined });
`;

interface FuzzRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Characters a request target may hold on the wire (no space, no controls); '%' stays raw so bad escapes occur. */
const targetChar = fc.oneof(
  fc.constantFrom(...'abcxyzAZ09-._~!$&\'()*+,;=:@/?#%[]'.split('')),
  fc.constantFrom('%00', '%2F', '%2f', '%zz', '%', '%E2%82', '%C0%AF', '..', '//', '\u00e9', '\u{1F600}', '\uFFFD'),
);
const noise = fc.array(targetChar, { maxLength: 12 }).map((a) => a.join(''));
const functionName = fc.oneof(fc.constantFrom('vmssEvents', 'VMSSEVENTS', 'reconcileTimer', 'status', 'autoscaleWebhook', 'nope', '', '__proto__', 'constructor', 'hasOwnProperty'), noise);

const target: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(functionName, noise).map(([name, rest]) => `/runtime/webhooks/eventgrid?functionName=${name}${rest}`),
  fc.tuple(functionName, noise).map(([name, rest]) => `/runtime/webhooks/EventGrid/?functionName=${encodeURIComponent(name)}&${rest}`),
  fc.tuple(functionName, noise).map(([name, rest]) => `/admin/functions/${name}${rest}`),
  fc.constantFrom('/admin/host/status', '/admin/host/status/', '/admin/functions', '/admin/functions/'),
  fc.tuple(functionName, noise).map(([name, rest]) => `/api/${name}${rest}`),
  fc.tuple(noise, noise).map(([a, b]) => `/${a}/${b}`),
  // Absolute-form and authority-like targets are legal on the wire (RFC 9112 §3.2).
  fc.tuple(fc.constantFrom('http://', 'https://', 'http://[', 'http://[::1', 'http://a@', '//', 'http://x:99999', 'foo:'), noise).map(([a, b]) => `${a}${b}`),
  fc.constantFrom('*', '/', '/%', '/api/', '/api/%ZZ', '/runtime/webhooks/eventgrid'),
);

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') },
  { weight: 1, arbitrary: fc.constantFrom('TRACE', 'PROPFIND', 'SEARCH', 'QUERY', 'M-SEARCH', 'PURGE', 'REPORT') },
);

const headerValue = fc.oneof(
  fc.constantFrom('Notification', 'notification', 'SubscriptionValidation', 'SubscriptionDeletion', 'Unsubscribe', '', ' ', 'x'),
  fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
);
const headers: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'aeg-event-type': headerValue,
      'content-type': fc.constantFrom('application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json; charset=utf-8', 'text/plain', 'multipart/form-data; boundary=x', ''),
      host: fc.constantFrom('localhost', '127.0.0.1:1', '[::1]', 'a b', 'x@y', '[', '%', 'h:99999', 'exa mple'),
      'webhook-request-origin': headerValue,
      'x-functions-key': headerValue,
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity'),
    },
    { requiredKeys: [] },
  )
  .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>);

const RESOURCE = '/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web';
const eventLike = fc.record(
  {
    id: fc.oneof(fc.uuid(), fc.jsonValue()),
    eventType: fc.oneof(fc.constantFrom('Microsoft.Resources.ResourceWriteSuccess', 'Microsoft.EventGrid.SubscriptionValidationEvent'), fc.jsonValue()),
    specversion: fc.oneof(fc.constant('1.0'), fc.jsonValue()),
    data: fc.oneof(fc.record({ validationCode: fc.oneof(fc.string(), fc.jsonValue()), resourceUri: fc.constantFrom(RESOURCE, '', '/x') }, { requiredKeys: [] }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);
const jsonBody = fc.oneof(
  fc.array(eventLike, { maxLength: 4 }),
  eventLike,
  fc.record({ input: fc.oneof(fc.string(), eventLike.map((e) => JSON.stringify(e)), fc.jsonValue()) }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 3 }),
).map((value) => JSON.stringify(value));
const body: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: jsonBody.map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: fc.tuple(jsonBody, fc.nat()).map(([text, cut]) => Buffer.from(text.slice(0, cut % (text.length + 1)))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.constantFrom('', '{not json', '\uFEFF[]', '[{}]', '[null]', 'null', '[[]]', '{"input":"{oops"}', '{"__proto__":{"x":1}}').map((t) => Buffer.from(t)) },
);

const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.record({ method, target, headers, body });

function send(url: URL, agent: http.Agent, request: FuzzRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // node:http refuses to send non-ASCII in a path; the raw-bytes test sends those as they are.
    const path = request.target.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
    const req = http.request({ host: url.hostname, port: url.port, agent, method: request.method, path, headers: { ...request.headers, 'content-length': String(request.body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

/** One request written as raw bytes (a request line and headers that no client library would send). */
function sendRaw(url: URL, bytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
      resolve(status ? Number(status[1]) : 0);
    });
    socket.end(bytes);
  });
}

function watchUnhandled(t: { after(fn: () => void): void }): unknown[] {
  const seen: unknown[] = [];
  const onError = (error: unknown) => seen.push(error);
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  t.after(() => {
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  });
  return seen;
}

test('fuzz: the local Functions host answers every request below 500, without stack traces or unhandled errors', async (t) => {
  const unhandled = watchUnhandled(t);
  const logs: HostLogRecord[] = [];
  const host = await startFunctionsHost({ appDirectory: fixtureApp(t, FIXTURE), env: {}, port: 0, runTimers: false, log: (r) => logs.push(r) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.after(async () => {
    agent.destroy();
    await host.close();
  });
  const url = new URL(host.url);
  await fuzz(
    t,
    'local host over HTTP',
    1500,
    fc.asyncProperty(fuzzRequest, async (request) => {
      const { status, text } = await send(url, agent, request);
      assert.ok(status >= 200 && status < 500, `${request.method} ${request.target} → ${status} ${text}`);
      if (status >= 400) {
        assert.ok(request.method === 'HEAD' || text.trim() !== '', `${status} without a message`);
        assert.doesNotMatch(text, STACK_FRAME);
      }
    }),
  );
  const unhandledLogs = logs.filter((l) => l.functionName === 'host' && l.level === 'error');
  assert.deepEqual(unhandledLogs.map((l) => l.message), []);
  assert.deepEqual(unhandled, []);
});

test('fuzz: raw request bytes never make the local host fail or crash', async (t) => {
  const unhandled = watchUnhandled(t);
  const logs: HostLogRecord[] = [];
  const host = await startFunctionsHost({ appDirectory: fixtureApp(t, FIXTURE), env: {}, port: 0, runTimers: false, log: (r) => logs.push(r) });
  t.after(() => host.close());
  const url = new URL(host.url);
  const line = fc.tuple(fc.oneof(method, fc.string({ maxLength: 6 })), target, fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/1.1 x', ''));
  const rawHeaders = fc.array(fc.oneof(fc.constantFrom('Host: x', 'aeg-event-type: Notification', 'Content-Length: 5', 'Content-Length: -1', 'Transfer-Encoding: chunked', 'Expect: 100-continue', ': x', 'x'), fc.string({ maxLength: 20 })), { maxLength: 5 });
  const raw = fc.tuple(line, rawHeaders, body).map(([[m, p, v], h, b]) => Buffer.concat([Buffer.from(`${m} ${p} ${v}\r\n${h.join('\r\n')}\r\n\r\n`, 'latin1'), b]));
  await fuzz(
    t,
    'local host raw bytes',
    300,
    fc.asyncProperty(raw, async (bytes) => {
      const status = await sendRaw(url, bytes);
      assert.ok(status < 500, `${JSON.stringify(bytes.toString('latin1'))} → ${status}`);
    }),
  );
  assert.deepEqual(logs.filter((l) => l.functionName === 'host' && l.level === 'error').map((l) => l.message), []);
  assert.deepEqual(unhandled, []);
  // Still serving.
  assert.equal((await fetch(`${host.url}/admin/host/status`)).status, 200);
});
