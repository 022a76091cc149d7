/**
 * The sandbox's Event Grid redelivers a delivery the endpoint failed, as Event Grid does: the same
 * events (same ids) again with `aeg-delivery-count` counting up, until a 200–204; not after 400,
 * 401, 403 or 413; after any other status or no answer in time; at most `maxAttempts` attempts;
 * on Event Grid's schedule (scaled).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildDeliveries, type ArmOperation } from '../../src/sandbox/event-grid';
import { deliverUntilAccepted, EVENT_GRID_RETRY_DELAYS_MS, retryDelayMs, SANDBOX_REDELIVERY, type RedeliveryPolicy } from '../../src/sandbox/event-grid/redelivery';

interface Seen {
  readonly count: string | undefined;
  readonly body: string;
  readonly at: number;
}

/** An endpoint on 127.0.0.1:0 answering attempt n with `answer(n)` (a status, or 'hang' for no answer). */
async function endpoint(answer: (n: number) => number | 'hang') {
  const seen: Seen[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const a = answer(seen.length);
      seen.push({ count: req.headers['aeg-delivery-count'] as string | undefined, body, at: Date.now() });
      if (a === 'hang') hanging.push(res);
      else res.writeHead(a).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const operation: ArmOperation = {
  operationName: 'Microsoft.Compute/virtualMachineScaleSets/write',
  resourceUri: '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/orders',
  subscriptionId: 's1',
  resourceGroup: 'rg',
  status: 'Succeeded',
  correlationId: 'c1',
  eventTime: '2026-01-01T00:00:00.000Z',
};
const delivery = buildDeliveries([operation], { seed: 3 })[0]!;
/** Event Grid's schedule at 1/1000: 10 ms, 30 ms, 60 ms, 300 ms, … */
const fast: RedeliveryPolicy = { scale: 0.001, maxAttempts: 30, timeoutMs: 2_000 };

test('a failed delivery is redelivered, same events, delivery count 0, 1, 2, until it is accepted', async () => {
  const ep = await endpoint((n) => (n < 2 ? 500 : 200));
  try {
    const outcome = await deliverUntilAccepted(ep.url, delivery, { policy: fast });
    assert.deepEqual(outcome, { result: 'accepted', attempts: 3, status: 200 });
    assert.deepEqual(ep.seen.map((s) => s.count), ['0', '1', '2']);
    assert.equal(new Set(ep.seen.map((s) => s.body)).size, 1, 'every attempt carries the same events');
    assert.equal((JSON.parse(ep.seen[0]!.body) as Array<{ id: string }>)[0]!.id, delivery.events[0]!.id);
    // Event Grid's schedule, scaled: 10 ms, then 30 ms.
    assert.ok(ep.seen[1]!.at - ep.seen[0]!.at >= 9 && ep.seen[2]!.at - ep.seen[1]!.at >= 29, 'retries wait their turn');
  } finally {
    await ep.close();
  }
});

for (const status of [400, 401, 403, 413]) {
  test(`an answer ${status} is not retried (Event Grid dead-letters or drops the events)`, async () => {
    const ep = await endpoint(() => status);
    try {
      assert.deepEqual(await deliverUntilAccepted(ep.url, delivery, { policy: fast }), { result: 'not-retryable', attempts: 1, status });
      assert.equal(ep.seen.length, 1);
    } finally {
      await ep.close();
    }
  });
}

for (const status of [404, 408, 429, 500, 503]) {
  test(`an answer ${status} is retried`, async () => {
    const ep = await endpoint((n) => (n === 0 ? status : 204));
    try {
      assert.deepEqual(await deliverUntilAccepted(ep.url, delivery, { policy: fast }), { result: 'accepted', attempts: 2, status: 204 });
    } finally {
      await ep.close();
    }
  });
}

test('no answer within the timeout counts as a failed attempt and is retried', async () => {
  const ep = await endpoint((n) => (n === 0 ? 'hang' : 200));
  try {
    const outcome = await deliverUntilAccepted(ep.url, delivery, { policy: { ...fast, timeoutMs: 150 } });
    assert.deepEqual(outcome, { result: 'accepted', attempts: 2, status: 200 });
    assert.ok(ep.seen[1]!.at - ep.seen[0]!.at >= 150, 'the retry came after the timeout');
  } finally {
    await ep.close();
  }
});

test('attempts are bounded: an endpoint that always fails gets maxAttempts attempts', async () => {
  const ep = await endpoint(() => 500);
  try {
    const outcome = await deliverUntilAccepted(ep.url, delivery, { policy: { ...fast, maxAttempts: 4 } });
    assert.deepEqual(outcome, { result: 'attempts-exhausted', attempts: 4, last: 'HTTP 500' });
    assert.equal(ep.seen.length, 4);
  } finally {
    await ep.close();
  }
});

test('aborting stops the retries (the sandbox closing)', async () => {
  const ep = await endpoint(() => 500);
  const stop = new AbortController();
  try {
    const whole = deliverUntilAccepted(ep.url, delivery, { policy: { ...fast, scale: 1 }, signal: stop.signal, onFirstAttempt: () => stop.abort() });
    const outcome = await whole;
    assert.equal(outcome.result, 'cancelled');
    assert.equal(ep.seen.length, 1, 'no retry after the abort (the first would come after 10 s)');
  } finally {
    await ep.close();
  }
});

test("the schedule is Event Grid's (10 s, 30 s, 1 min, 5 min, …, every 12 h), scaled; the sandbox's starts at 0.5 s", () => {
  const azure = { scale: 1 };
  assert.deepEqual([1, 2, 3, 4].map((r) => retryDelayMs(r, azure)), [10_000, 30_000, 60_000, 300_000]);
  assert.equal(retryDelayMs(10, azure), 43_200_000);
  assert.equal(retryDelayMs(29, azure), 43_200_000, 'every 12 h after the listed steps');
  assert.deepEqual([1, 2, 3].map((r) => retryDelayMs(r, SANDBOX_REDELIVERY)), [500, 1_500, 3_000]);
  assert.equal(EVENT_GRID_RETRY_DELAYS_MS.length, 10);
  assert.equal(SANDBOX_REDELIVERY.maxAttempts, 30);
});

test('a policy out of bounds is refused', async () => {
  await assert.rejects(deliverUntilAccepted('http://127.0.0.1:9', delivery, { policy: { ...fast, maxAttempts: 31 } }), /maxAttempts/);
  await assert.rejects(deliverUntilAccepted('http://127.0.0.1:9', delivery, { policy: { ...fast, scale: 0 } }), /scale/);
});
