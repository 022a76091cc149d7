import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideAutoscale, DEFAULT_AUTOSCALE_RULE } from '../../src/sandbox/autoscale';

const input = fc.record({
  capacity: fc.integer({ min: 0, max: 12 }),
  requestsPerSecond: fc.double({ min: 0, max: 10_000, noNaN: true }),
  instanceCapacityRps: fc.double({ min: 1, max: 1000, noNaN: true }),
  lastActionAt: fc.integer({ min: 0, max: 1_000_000 }),
  now: fc.integer({ min: 0, max: 2_000_000 }),
});

test('autoscale: steps of one, within [min, max], never during cooldown, direction follows the thresholds', () => {
  fc.assert(
    fc.property(input, (i) => {
      const d = decideAutoscale(DEFAULT_AUTOSCALE_RULE, i);
      assert.ok(d.cpuPercent >= 0 && d.cpuPercent <= 100);
      if (d.action === 'none') return;
      assert.ok(i.now - i.lastActionAt >= DEFAULT_AUTOSCALE_RULE.cooldownMs);
      assert.ok(d.newCapacity >= DEFAULT_AUTOSCALE_RULE.min && d.newCapacity <= DEFAULT_AUTOSCALE_RULE.max);
      if (i.capacity > DEFAULT_AUTOSCALE_RULE.max || i.capacity < DEFAULT_AUTOSCALE_RULE.min) return;
      assert.equal(Math.abs(d.newCapacity - i.capacity), 1);
      if (d.newCapacity > i.capacity) assert.ok(d.cpuPercent > 75);
      else assert.ok(d.cpuPercent < 25);
    }),
  );
});

test('autoscale: the documented examples', () => {
  const at = { lastActionAt: 0, now: 60_000, instanceCapacityRps: 10 };
  assert.deepEqual(decideAutoscale(DEFAULT_AUTOSCALE_RULE, { ...at, capacity: 2, requestsPerSecond: 16 }), { cpuPercent: 80, action: 'scale', newCapacity: 3, why: 'CPU 80 % > 75 %' });
  assert.deepEqual(decideAutoscale(DEFAULT_AUTOSCALE_RULE, { ...at, capacity: 4, requestsPerSecond: 8 }), { cpuPercent: 20, action: 'scale', newCapacity: 3, why: 'CPU 20 % < 25 %' });
  assert.equal(decideAutoscale(DEFAULT_AUTOSCALE_RULE, { ...at, capacity: 1, requestsPerSecond: 0 }).action, 'none', 'never below min');
  assert.equal(decideAutoscale(DEFAULT_AUTOSCALE_RULE, { ...at, now: 10_000, capacity: 2, requestsPerSecond: 100 }).action, 'none', 'cooldown');
});
