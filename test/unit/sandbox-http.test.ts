/**
 * The sandbox's shared HTTP plumbing (src/sandbox/http): the route look-up (first route matching
 * path and method; else the methods the path allows, once each, in route order; else nothing),
 * and readBody (whole, or capped: stop at the cap or drain the rest) / send / listen on a real
 * server bound to port 0.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError, listen, readBody, send } from '../../src/sandbox/http/http-io';
import type { BodyLimit } from '../../src/sandbox/http/http-io';
import { findRoute } from '../../src/sandbox/http/route-table';

interface TestRoute {
  readonly name: string;
  readonly methods: readonly string[];
  readonly prefix: string;
}

const ROUTES: readonly TestRoute[] = [
  { name: 'kv read', methods: ['GET'], prefix: '/v1/kv/' },
  { name: 'kv write', methods: ['PUT', 'DELETE'], prefix: '/v1/kv/' },
  { name: 'kv again', methods: ['GET', 'PATCH'], prefix: '/v1/kv/' },
  { name: 'status', methods: ['GET'], prefix: '/v1/status/' },
];
const byPrefix = (path: string) => (r: TestRoute) => (path.startsWith(r.prefix) ? path.slice(r.prefix.length) : undefined);

describe('findRoute', () => {
  test('the first route matching path and method, with what the match returned', () => {
    const found = findRoute(ROUTES, 'PUT', byPrefix('/v1/kv/a/b'));
    assert.ok(found && 'route' in found);
    assert.equal(found.route.name, 'kv write');
    assert.equal(found.match, 'a/b');
    const first = findRoute(ROUTES, 'GET', byPrefix('/v1/kv/x'));
    assert.ok(first && 'route' in first);
    assert.equal(first.route.name, 'kv read');
  });

  test('a matching path without the method: the methods allowed, once each, in route order', () => {
    assert.deepEqual(findRoute(ROUTES, 'POST', byPrefix('/v1/kv/x')), { allowed: ['GET', 'PUT', 'DELETE', 'PATCH'] });
  });

  test('no path matches: nothing', () => {
    assert.equal(findRoute(ROUTES, 'GET', byPrefix('/v1/agent/self')), undefined);
  });
});

describe('readBody, send, listen', () => {
  test('a body read whole, answered with its length; a second send does nothing', async (t) => {
    const server = createServer((req, res) => {
      void readBody(req).then((body) => {
        assert.equal(send(res, 201, 'text/plain; charset=utf-8', `got ${body.length} bytes: ${body.toString()}`), 201);
        assert.equal(send(res, 500, undefined, 'too late'), 500);
      });
    });
    const port = await listen(server, '127.0.0.1', 0);
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    assert.ok(port > 0);
    const answer = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'héllo' });
    assert.equal(answer.status, 201);
    assert.equal(answer.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(answer.headers.get('content-length'), String(Buffer.byteLength('got 6 bytes: héllo')));
    assert.equal(await answer.text(), 'got 6 bytes: héllo');
  });

  /** Posts `size` bytes to a server reading with `limit`; the answer, and how many bytes the server read. */
  async function postCapped(t: { after(fn: () => unknown): void }, limit: BodyLimit, size: number): Promise<{ status: number; text: string; bytesRead: number }> {
    let bytesRead = 0;
    const server = createServer((req: IncomingMessage, res) => {
      req.on('data', (chunk: Buffer) => (bytesRead += chunk.length));
      readBody(req, limit).then(
        (body) => send(res, 200, 'text/plain', `${body.length}`),
        (error: unknown) => send(res, error instanceof BodyTooLargeError ? 413 : 400, 'text/plain', error instanceof Error ? error.message : String(error)),
      );
    });
    const port = await listen(server, '127.0.0.1', 0);
    t.after(() => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
    const answer = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: Buffer.alloc(size, 120) });
    return { status: answer.status, text: await answer.text(), bytesRead };
  }

  test('a capped body within its cap is read whole', async (t) => {
    assert.deepEqual(await postCapped(t, { maxBytes: 1000, overflow: 'stop' }, 1000), { status: 200, text: '1000', bytesRead: 1000 });
  });

  test("past its cap, 'stop' rejects without reading the rest and the answer still reaches the client", async (t) => {
    const size = 8 * 1024 * 1024;
    const got = await postCapped(t, { maxBytes: 16 * 1024, overflow: 'stop' }, size);
    assert.equal(got.status, 413);
    assert.equal(got.text, 'request body is larger than 16384 bytes');
    assert.ok(got.bytesRead < size, `read ${got.bytesRead} of ${size} bytes`);
  });

  test("past its cap, 'drain' reads the rest before it rejects", async (t) => {
    const size = 1024 * 1024;
    assert.deepEqual(await postCapped(t, { maxBytes: 16 * 1024, overflow: 'drain' }, size), { status: 413, text: 'request body is larger than 16384 bytes', bytesRead: size });
  });

  test('listen rejects when the port is taken; once listening, a server error is ignored, not thrown', async (t) => {
    const first = createServer();
    const port = await listen(first, '127.0.0.1', 0);
    t.after(() => new Promise<void>((resolve) => first.close(() => resolve())));
    assert.equal(first.listenerCount('error'), 1, 'only the ignoring listener: the rejecting one is gone');
    assert.doesNotThrow(() => first.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' })));
    await assert.rejects(listen(createServer(), '127.0.0.1', port), { code: 'EADDRINUSE' });
  });
});
