/** The sandbox control server over real HTTP on 127.0.0.1, driven by a fake world. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { startControlServer, type ControlServerOptions } from '../../src/sandbox/control/control-server';
import { discoveryPath, resolveSandboxUrl, writeDiscoveryFile } from '../../src/sandbox/control/discovery';
import type { SandboxState } from '../../src/sandbox/sandbox-state';
import { InvalidInputError, TransientError } from '../../src/shared/errors';
import { FakeSandboxWorld } from '../helpers/fake-sandbox-world';

async function start(t: TestContext, options: Partial<ControlServerOptions> = {}, world = new FakeSandboxWorld()) {
  t.after(() => world.close());
  const server = await startControlServer({ port: 0, discoveryDir: null, state: world.state, act: world.act, onChange: world.onChange, ...options });
  t.after(() => server.close());
  return { world, server, url: server.url };
}

interface SseEvent {
  readonly event: string;
  readonly id?: string;
  readonly data: string;
}

/** Reads /api/events with fetch and parses the stream; `next` waits for a matching event. */
async function openEvents(t: TestContext, url: string) {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/events`, { signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      const reader = response.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''));
          }
          if (fields.has('data')) events.push({ event: fields.get('event') ?? 'message', data: fields.get('data') ?? '', ...(fields.has('id') ? { id: fields.get('id') } : {}) });
          for (const wake of waiters) wake();
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    for (const wake of waiters) wake();
  })();
  t.after(async () => {
    controller.abort();
    await pump;
  });
  const states = () => events.filter((e) => e.event === 'state').map((e) => JSON.parse(e.data) as SandboxState);
  const until = (condition: () => boolean, what: string, timeoutMs = 3000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (condition()) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        } else if (ended) {
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`stream ended before ${what}; got ${events.map((e) => e.event).join(', ')}`));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; got ${events.map((e) => e.event).join(', ')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { events, states, until, get ended() { return ended; } };
}

function postAction(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/api/actions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function replyOf(response: Response): Promise<{ status: number; body: { ok: boolean; message: string } }> {
  return { status: response.status, body: (await response.json()) as { ok: boolean; message: string } };
}

/** http.request, because fetch does not let a test forge the Host header. */
function rawGet(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const withoutTime = (s: SandboxState) => ({ ...s, generatedAt: '' });

describe('pages and state', () => {
  test('GET / serves the self-contained status page with a CSP that allows exactly its inline script and style', async (t) => {
    const { url } = await start(t);
    const response = await fetch(`${url}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await response.text();
    const csp = response.headers.get('content-security-policy') ?? '';
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? '';
    assert.ok(script.length > 1000 && style.length > 500);
    assert.ok(csp.includes(`script-src ${hash(script)}`), csp);
    assert.ok(csp.includes(`style-src ${hash(style)}`), csp);
    assert.ok(csp.includes("default-src 'none'") && csp.includes("connect-src 'self'"), csp);
    assert.doesNotMatch(html, /(?:src|href)=|https?:\/\/|@import|url\(/, 'the page loads nothing from anywhere');
    for (const id of ['connection', 'event-chaos-toggle', 'scale-sets', 'relay-clients', 'timeline', 'action-result', 'traffic-requests', 'traffic-failed-total']) assert.ok(html.includes(`data-testid="${id}"`), id);
  });

  test('GET /api/state is the world state as JSON', async (t) => {
    const { url, world } = await start(t);
    const response = await fetch(`${url}/api/state`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.deepEqual(withoutTime((await response.json()) as SandboxState), withoutTime(world.state()));
  });

  test('a state() that throws: GET /api/state answers 500 with the reason and the log says so', async (t) => {
    const lines: string[] = [];
    const { url } = await start(t, { state: () => { throw new Error('world not ready'); }, log: (l) => lines.push(l) });
    assert.deepEqual(await replyOf(await fetch(`${url}/api/state`)), { status: 500, body: { ok: false, message: 'reading the sandbox state failed: world not ready' } });
    const events = await openEvents(t, url);
    await events.until(() => lines.length > 0, 'a log line');
    assert.equal(lines[0], 'control server: reading the sandbox state failed: world not ready');
    assert.equal(events.states().length, 0);
  });

  test('unknown paths are 404 and wrong methods 405 with Allow', async (t) => {
    const { url } = await start(t);
    assert.deepEqual(await replyOf(await fetch(`${url}/nope`)), { status: 404, body: { ok: false, message: 'no such resource: /nope (try /, /api/state, /api/events or POST /api/actions)' } });
    const wrong = await fetch(`${url}/api/actions`);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.deepEqual(await replyOf(wrong), { status: 405, body: { ok: false, message: 'GET is not allowed on /api/actions; use POST' } });
  });
});

describe('/api/events', () => {
  test('sends the state on connect, then every change as it happens (a scale-out arriving live)', async (t) => {
    const { url, world } = await start(t, { minPushIntervalMs: 10 });
    const events = await openEvents(t, url);
    await events.until(() => events.states().length === 1, 'the first state');
    assert.deepEqual(withoutTime(events.states()[0]!), withoutTime(world.state()));
    assert.equal((await replyOf(await postAction(url, { action: 'scale', scaleSet: 'web', capacity: 3 }))).status, 200);
    const instance = (s: SandboxState | undefined) => s?.scaleSets.find((x) => x.name === 'web')?.instances.find((i) => i.name === 'web_2');
    await events.until(() => instance(events.states().at(-1))?.consul === 'passing', 'web_2 passing');
    assert.ok(instance(events.states().at(-1))!.trafficShare > 0);
    assert.ok(events.states().some((s) => instance(s)?.provisioningState === 'Creating'), 'the Creating state was pushed before the settled one');
  });

  test('a burst of changes becomes one push; the next burst waits for minPushIntervalMs', async (t) => {
    const { url, world } = await start(t, { minPushIntervalMs: 120 });
    const events = await openEvents(t, url);
    await events.until(() => events.states().length === 1, 'the first state');
    for (let n = 0; n < 50; n += 1) world.failRequest();
    await events.until(() => events.states().at(-1)?.traffic.failedTotal === 50, 'the state after the first burst');
    for (let n = 0; n < 50; n += 1) world.failRequest();
    await events.until(() => events.states().at(-1)?.traffic.failedTotal === 100, 'the state after the second burst');
    assert.deepEqual(events.states().map((s) => s.traffic.failedTotal), [0, 50, 100]);
    // generatedAt is stamped when the server read the state for the push: the server's own clock.
    const [, first, second] = events.states().map((s) => Date.parse(s.generatedAt));
    assert.ok(second! - first! >= 115, `second push ${second! - first!} ms after the first`);
  });

  test('a change that changes nothing is not pushed', async (t) => {
    const { url, world } = await start(t, { minPushIntervalMs: 0 });
    const events = await openEvents(t, url);
    await events.until(() => events.states().length === 1, 'the first state');
    world.touch();
    // The push timer of the touch (0 ms) fires before this one: its flush has run afterwards.
    await delay(5);
    world.failRequest();
    await events.until(() => events.states().at(-1)?.traffic.failedTotal === 1, 'the real change');
    assert.deepEqual(events.events.filter((e) => e.event === 'state').map((e) => e.id), ['1', '2']);
  });

  test('heartbeats keep flowing while nothing changes', async (t) => {
    const { url } = await start(t, { heartbeatMs: 30 });
    const events = await openEvents(t, url);
    await events.until(() => events.events.filter((e) => e.event === 'heartbeat').length >= 2, 'two heartbeats');
    const beat = JSON.parse(events.events.find((e) => e.event === 'heartbeat')!.data) as { at: string };
    assert.ok(!Number.isNaN(Date.parse(beat.at)));
  });

  test('without onChange the server polls state() and pushes what changed', async (t) => {
    const world = new FakeSandboxWorld();
    const { url } = await start(t, { onChange: undefined, pollMs: 20 }, world);
    const events = await openEvents(t, url);
    await events.until(() => events.states().length === 1, 'the first state');
    world.failRequest();
    await events.until(() => events.states().at(-1)?.traffic.failedTotal === 1, 'the polled change');
  });

  test('close() ends open streams and stops listening', async (t) => {
    const world = new FakeSandboxWorld();
    t.after(() => world.close());
    const server = await startControlServer({ port: 0, discoveryDir: null, state: world.state, act: world.act, onChange: world.onChange });
    const events = await openEvents(t, server.url);
    await events.until(() => events.states().length === 1, 'the first state');
    await server.close();
    await events.until(() => events.ended, 'the end of the stream');
    await assert.rejects(fetch(`${server.url}/api/state`));
  });
});

describe('POST /api/actions', () => {
  test('a valid action reaches act() and its result is the answer', async (t) => {
    const { url, world } = await start(t);
    assert.deepEqual(await replyOf(await postAction(url, { action: 'scale', scaleSet: 'web', capacity: 4 })), { status: 200, body: { ok: true, message: 'web: capacity 2 → 4' } });
    assert.deepEqual(await replyOf(await postAction(url, { action: 'event-chaos', enabled: true })), { status: 200, body: { ok: true, message: 'event chaos on' } });
    assert.deepEqual(world.actions, [{ action: 'scale', scaleSet: 'web', capacity: 4 }, { action: 'event-chaos', enabled: true }]);
    assert.equal(world.state().eventChaos, true);
  });

  test('a refusal from act() (unknown scale set or instance) is 422 with its message', async (t) => {
    const { url } = await start(t);
    assert.deepEqual(await replyOf(await postAction(url, { action: 'scale', scaleSet: 'nope', capacity: 1 })), { status: 422, body: { ok: false, message: 'unknown scale set "nope" (known: web, api)' } });
    assert.deepEqual(await replyOf(await postAction(url, { action: 'fail', instance: 'web_9' })), { status: 422, body: { ok: false, message: 'unknown instance "web_9"' } });
  });

  test('malformed actions are 400 with a message naming the field, and never reach act()', async (t) => {
    const { url, world } = await start(t);
    const cases: Array<[unknown, string]> = [
      [{ action: 'scale', scaleSet: 'web', capacity: -1 }, 'capacity: must be 0 or more'],
      [{ action: 'scale', scaleSet: 'web', capacity: 2.5 }, 'capacity: must be a whole number'],
      [{ action: 'scale', scaleSet: 'web', capacity: 1001 }, 'capacity: must be at most 1000'],
      [{ action: 'scale', capacity: 1 }, 'scaleSet: must be a scale set name (string)'],
      [{ action: 'fail', instance: '  ' }, 'instance: must be a non-empty instance name'],
      [{ action: 'heal', instance: 'web_0', force: true }, 'unknown field "force" for action "heal"'],
      [{ action: 'event-chaos', enabled: 'yes' }, 'enabled: must be true or false'],
      [{ action: 'reboot' }, 'action: must be one of "scale", "fail", "heal", "event-chaos", "fail-half", "rollout", got "reboot"'],
      [{}, 'action: must be one of "scale", "fail", "heal", "event-chaos", "fail-half", "rollout", got nothing'],
      [[1, 2], 'an action must be a JSON object such as {"action":"scale","scaleSet":"web","capacity":3}'],
    ];
    for (const [body, message] of cases) assert.deepEqual(await replyOf(await postAction(url, body)), { status: 400, body: { ok: false, message } }, JSON.stringify(body));
    const notJson = await replyOf(await postAction(url, '{"action":'));
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.message, /^request body is not JSON: /);
    assert.deepEqual(world.actions, []);
  });

  test('too large bodies are 413; other content types 415', async (t) => {
    const { url, world } = await start(t);
    assert.deepEqual(await replyOf(await postAction(url, { action: 'fail', instance: 'x'.repeat(20_000) })), { status: 413, body: { ok: false, message: 'request body is larger than 16384 bytes' } });
    const plain = await fetch(`${url}/api/actions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ action: 'event-chaos', enabled: true }) });
    assert.deepEqual(await replyOf(plain), { status: 415, body: { ok: false, message: 'actions must be sent as JSON with the header Content-Type: application/json' } });
    assert.deepEqual(world.actions, []);
  });

  test('errors thrown by act(): InvalidInputError 400, TransientError 503 with Retry-After, anything else 500', async (t) => {
    const errors: unknown[] = [new InvalidInputError('capacity above the sandbox limit of 8', 'capacity'), new TransientError('ARM emulator is restarting', 'arm', 2500), new Error('boom')];
    const { url } = await start(t, { act: async () => { throw errors.shift(); } });
    assert.deepEqual(await replyOf(await postAction(url, { action: 'scale', scaleSet: 'web', capacity: 9 })), { status: 400, body: { ok: false, message: 'capacity: capacity above the sandbox limit of 8' } });
    const transient = await postAction(url, { action: 'scale', scaleSet: 'web', capacity: 9 });
    assert.equal(transient.headers.get('retry-after'), '3');
    assert.deepEqual(await replyOf(transient), { status: 503, body: { ok: false, message: 'ARM emulator is restarting' } });
    assert.deepEqual(await replyOf(await postAction(url, { action: 'scale', scaleSet: 'web', capacity: 9 })), { status: 500, body: { ok: false, message: 'the sandbox failed to carry out the action: boom' } });
  });
});

describe('loopback only', () => {
  test('a cross-origin Origin is refused; the page own origin is accepted', async (t) => {
    const { url, world } = await start(t);
    assert.deepEqual(await replyOf(await postAction(url, { action: 'event-chaos', enabled: true }, { origin: 'http://evil.example' })), { status: 403, body: { ok: false, message: 'cross-origin requests are refused (Origin http://evil.example)' } });
    assert.equal((await postAction(url, { action: 'event-chaos', enabled: true }, { origin: url })).status, 200);
    assert.equal(world.actions.length, 1);
  });

  test('a Host that is not a loopback name is refused (DNS rebinding)', async (t) => {
    const { url } = await start(t);
    const port = new URL(url).port;
    const rebound = await rawGet(url, '/api/state', { host: `evil.example:${port}` });
    assert.equal(rebound.status, 403);
    assert.deepEqual(JSON.parse(rebound.body), { ok: false, message: `Host "evil.example:${port}" is not a loopback name; the sandbox answers only on this machine` });
    assert.equal((await rawGet(url, '/api/state', { host: `localhost:${port}` })).status, 200);
  });

  test('a port already in use is a ConfigError that says what to do', async (t) => {
    const { server } = await start(t);
    const world = new FakeSandboxWorld();
    t.after(() => world.close());
    await assert.rejects(startControlServer({ port: server.port, discoveryDir: null, state: world.state, act: world.act }), {
      name: 'ConfigError',
      message: `port: 127.0.0.1:${server.port} is already in use: another sandbox may be running (vmss-mesh sandbox status), or choose another port`,
    });
  });

  test('options: non-loopback hosts need allowRemote; bad numbers are TypeErrors', async () => {
    const world = new FakeSandboxWorld();
    const base = { state: world.state, act: world.act, discoveryDir: null };
    await assert.rejects(startControlServer({ ...base, host: '0.0.0.0' }), { name: 'TypeError', message: 'host "0.0.0.0" is not a loopback address; pass allowRemote: true to expose the sandbox\'s controls beyond this machine' });
    await assert.rejects(startControlServer({ ...base, port: 70000 }), { name: 'TypeError', message: 'port must be an integer 0–65535, got 70000' });
    await assert.rejects(startControlServer({ ...base, port: 0, heartbeatMs: 0 }), { name: 'TypeError', message: 'heartbeatMs must be a positive number of milliseconds, got 0' });
    world.close();
  });
});

describe('discovery file', () => {
  test('written under discoveryDir while the server runs (URL + pid), found by the CLI resolver, removed on close', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vmss-mesh-control-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { server } = await start(t, { discoveryDir: dir });
    assert.equal(server.discoveryFile, discoveryPath(dir));
    const record = JSON.parse(await readFile(discoveryPath(dir), 'utf8')) as { url: string; pid: number };
    assert.equal(record.url, server.url);
    assert.equal(record.pid, process.pid);
    assert.deepEqual(await resolveSandboxUrl({ env: {}, cwd: dir }), { url: server.url, source: 'discovery-file' });
    assert.deepEqual(await resolveSandboxUrl({ env: { VMSS_MESH_SANDBOX_URL: 'http://127.0.0.1:9999/' }, cwd: dir }), { url: 'http://127.0.0.1:9999', source: 'environment' });
    assert.deepEqual(await resolveSandboxUrl({ flag: 'http://localhost:1234', env: { VMSS_MESH_SANDBOX_URL: 'http://127.0.0.1:9999' }, cwd: dir }), { url: 'http://localhost:1234', source: 'flag' });
    await server.close();
    assert.equal(existsSync(discoveryPath(dir)), false);
    assert.equal(await resolveSandboxUrl({ env: {}, cwd: dir }), undefined);
  });

  test('a file left by a sandbox that died is ignored; a file replaced by a newer sandbox is not removed', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vmss-mesh-control-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead);
    await writeDiscoveryFile(dir, { url: 'http://127.0.0.1:7080', pid: dead, startedAt: new Date().toISOString() });
    assert.equal(await resolveSandboxUrl({ env: {}, cwd: dir }), undefined);
    const { server } = await start(t, { discoveryDir: dir });
    await writeDiscoveryFile(dir, { url: 'http://127.0.0.1:7081', pid: process.pid, startedAt: new Date().toISOString() });
    await server.close();
    assert.equal(JSON.parse(await readFile(discoveryPath(dir), 'utf8')).url, 'http://127.0.0.1:7081');
  });

  test('a malformed URL in the environment is a configuration error naming the setting', async () => {
    await assert.rejects(resolveSandboxUrl({ env: { VMSS_MESH_SANDBOX_URL: 'ftp://x' }, cwd: tmpdir() }), { name: 'ConfigError', message: 'VMSS_MESH_SANDBOX_URL: must be an http:// or https:// URL, got "ftp://x"' });
    await assert.rejects(resolveSandboxUrl({ flag: 'not a url', env: {}, cwd: tmpdir() }), { name: 'ConfigError', message: '--url: not a URL: "not a url"' });
  });
});
