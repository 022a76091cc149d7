/**
 * The timer's retry policy: the default schedule (every 5 minutes) keeps 10 s, 20 s, 40 s; a
 * schedule that runs more often gets retries that all end within the shortest gap between two
 * ticks (whole seconds, at least 1 s), so a failed sweep never holds the timer's singleton lock
 * past the tick that would have run it again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortestTickGapSeconds, sweepRetryPolicy } from '../../src/functions/reconcileTimer';
import { retryDelayMs } from '../../src/sandbox/functions-host/timer-trigger';

/** The delays the host waits before each retry, as the local host computes them from the policy the app registers. */
function delaysOf(schedule: string): number[] {
  const p = sweepRetryPolicy(schedule);
  const seconds = (d: { seconds?: number; minutes?: number }) => ({ seconds: (d.seconds ?? 0) + (d.minutes ?? 0) * 60 });
  const rpc = { retryStrategy: 'exponentialBackoff' as const, maxRetryCount: p.maxRetryCount, minimumInterval: seconds(p.minimumInterval as { seconds?: number }), maximumInterval: seconds(p.maximumInterval as { minutes?: number }) };
  const delays: number[] = [];
  for (let n = 0; ; n += 1) {
    const d = retryDelayMs(rpc, n);
    if (d === undefined) return delays;
    delays.push(d / 1000);
  }
}

test('the shortest gap between ticks of an NCRONTAB schedule', () => {
  assert.equal(shortestTickGapSeconds('0 */5 * * * *'), 300);
  assert.equal(shortestTickGapSeconds('*/3 * * * * *'), 3);
  assert.equal(shortestTickGapSeconds('*/10 * * * * *'), 10);
  assert.equal(shortestTickGapSeconds('0,30 * * * * *'), 30);
  assert.equal(shortestTickGapSeconds('5/20 * * * * *'), 20);
  assert.equal(shortestTickGapSeconds('0 1-5/2 * * * *'), 120);
  assert.equal(shortestTickGapSeconds('0 0 */6 * * *'), 6 * 3600);
  assert.equal(shortestTickGapSeconds('0 0 3 * * *'), undefined, 'once a day');
  assert.equal(shortestTickGapSeconds('0 0 * * * MON'), 3600);
  assert.equal(shortestTickGapSeconds('L * * * * *'), undefined, 'beyond this reading');
});

test('the default schedule keeps 10 s, 20 s, 40 s; shorter periods get retries that end within one period', () => {
  assert.deepEqual(delaysOf('0 */5 * * * *'), [10, 20, 40]);
  assert.deepEqual(delaysOf('0 0 3 * * *'), [10, 20, 40]);
  assert.deepEqual(delaysOf('*/30 * * * * *'), [3, 6, 12]);
  assert.deepEqual(delaysOf('*/10 * * * * *'), [1, 2, 4]);
  assert.deepEqual(delaysOf('*/3 * * * * *'), [1, 2]);
  assert.deepEqual(delaysOf('* * * * * *'), [1]);
  for (const schedule of ['*/1 * * * * *', '*/2 * * * * *', '*/5 * * * * *', '*/15 * * * * *', '0 * * * * *', '0 */2 * * * *']) {
    const sum = delaysOf(schedule).reduce((a, b) => a + b, 0);
    assert.ok(sum <= shortestTickGapSeconds(schedule)!, `${schedule}: retries take ${sum} s`);
  }
});
