/**
 * The timer's retry policy: the default schedule (every 5 minutes) keeps 10 s, 20 s, 40 s; a
 * schedule that runs more often gets retries that all end within the shortest gap between two
 * ticks (whole seconds, at least 1 s), so a failed sweep never holds the timer's singleton lock
 * past the tick that would have run it again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pacingLogLine, shortestTickGapSeconds, sweepRetryPolicy } from '../../src/functions/reconcileTimer';
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
  assert.equal(shortestTickGapSeconds('0 0 3 * * *'), 86_400, 'once a day');
  assert.equal(shortestTickGapSeconds('0 0 * * * MON'), 3600);
  assert.equal(shortestTickGapSeconds('0 0 0 * * MON,WED'), 2 * 86_400, 'Monday to Wednesday');
  assert.equal(shortestTickGapSeconds('0 55 23,0 * * *'), 3600, 'across midnight: 23:55 to 00:55');
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

test("the sweep's pace changes are logged as they happen, the usual start at full speed is not", () => {
  assert.equal(pacingLogLine({ level: 'normal', concurrency: 4, spreadMs: 0, afterUnits: 0 }), undefined);
  const low = JSON.parse(pacingLogLine({ level: 'low', concurrency: 2, spreadMs: 1000, afterUnits: 3, remaining: 80, source: 'x-ms-ratelimit-remaining-subscription-reads', subscriptionId: 's' })!) as Record<string, unknown>;
  assert.equal(low.event, 'sweep-pacing');
  assert.equal(low.msg, 'ARM read budget low, 80 reads left (x-ms-ratelimit-remaining-subscription-reads): 2 scale set(s) at a time, 1000 ms apart');
  assert.equal(low.concurrency, 2);
  const critical = JSON.parse(pacingLogLine({ level: 'critical', concurrency: 1, spreadMs: 3000, afterUnits: 0 })!) as Record<string, unknown>;
  assert.match(String(critical.msg), /^ARM read budget critical, no header yet: 1 scale set\(s\) at a time, 3000 ms apart$/);
  const back = JSON.parse(pacingLogLine({ level: 'normal', concurrency: 4, spreadMs: 0, afterUnits: 7, remaining: 400, source: 'h', subscriptionId: 's' })!) as Record<string, unknown>;
  assert.match(String(back.msg), /^ARM read budget normal, 400 reads left \(h\): 4 scale set\(s\) at a time/);
});
