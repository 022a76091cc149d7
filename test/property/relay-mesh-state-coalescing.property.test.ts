/**
 * Whatever Consul changes arrive at whatever times (mocked timers, injected clock): two publishes
 * are at least one window apart; a change that finds no publish in the last window is published
 * at the same instant (the next turn); no change waits more than one window; publishes come in
 * order and each is the store's whole state at that moment, so the last one is the final state.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import fc from 'fast-check';
import { MeshStateStore } from '../../src/relay/inputs/mesh-state-store';
import type { MeshState } from '../../src/relay/mesh-state';
import { endpoint, endpointSet, summary } from '../helpers/relay-inputs';

const WINDOW = 50;
const change = fc.record({
  gapMs: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 120 })),
  service: fc.constantFrom('web', 'api', 'db'),
  hosts: fc.uniqueArray(fc.integer({ min: 1, max: 5 }), { maxLength: 3 }),
});

test('coalescing: spacing, lone changes at once, bounded wait, final state right', () => {
  fc.assert(
    fc.property(fc.array(change, { minLength: 1, maxLength: 60 }), (changes) => {
      mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
      let clock = 0;
      const advance = (ms: number): void => {
        mock.timers.tick(0);
        for (let i = 0; i < ms; i++) {
          clock += 1;
          mock.timers.tick(1);
        }
      };
      const published: { at: number; state: MeshState }[] = [];
      const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: WINDOW, now: () => clock, publish: (state) => published.push({ at: clock, state }) });
      try {
        store.markLoaded();
        const expected = new Map<string, string[]>();
        let index = 0;
        /** Times of changes not yet seen in a publish. */
        const waiting: number[] = [];
        let lastPublishCount = published.length;
        for (const c of changes) {
          advance(c.gapMs);
          if (published.length > lastPublishCount) {
            waiting.length = 0;
            lastPublishCount = published.length;
          }
          const lastAt = published.at(-1)!.at;
          const endpoints = c.hosts.map((h) => endpoint(`10.0.0.${h}`));
          const before = JSON.stringify(expected.get(c.service) ?? null);
          store.offer(endpointSet(c.service, ++index, endpoints));
          expected.set(c.service, endpoints.map((e) => `${e.address}:8080/passing`).sort());
          const changed = before !== JSON.stringify(expected.get(c.service));
          if (changed) waiting.push(clock);
          if (changed && waiting.length === 1 && clock - lastAt >= WINDOW) {
            advance(0);
            assert.equal(published.at(-1)!.at, clock, 'a lone change is published at once');
            assert.deepEqual(summary(published.at(-1)!.state)[c.service], expected.get(c.service));
          }
        }
        advance(WINDOW);
        for (let i = 1; i < published.length; i++) assert.ok(published[i]!.at - published[i - 1]!.at >= WINDOW, `publishes at ${published.map((p) => p.at).join(',')}`);
        assert.deepEqual(summary(published.at(-1)!.state), Object.fromEntries([...expected].sort(([a], [b]) => (a < b ? -1 : 1))));
      } finally {
        store.close();
        mock.timers.reset();
      }
    }),
    { numRuns: 200 },
  );
});

test('coalescing: no change waits more than one window', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 60 }), (gaps) => {
      mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
      let clock = 0;
      const publishedAt: number[] = [];
      const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: WINDOW, now: () => clock, publish: () => publishedAt.push(clock) });
      try {
        store.markLoaded();
        const changeAt: number[] = [];
        gaps.forEach((gap, i) => {
          for (let ms = 0; ms < gap; ms++) {
            clock += 1;
            mock.timers.tick(1);
          }
          store.offer(endpointSet('web', i + 1, [endpoint(`10.0.${i >> 8}.${i & 255}`)]));
          changeAt.push(clock);
        });
        for (let ms = 0; ms <= WINDOW; ms++) {
          mock.timers.tick(ms === 0 ? 0 : 1);
          if (ms > 0) clock += 1;
        }
        for (const at of changeAt) {
          const next = publishedAt.find((p) => p >= at);
          assert.ok(next !== undefined && next - at <= WINDOW, `change at ${at} published at ${next} (publishes ${publishedAt.join(',')})`);
        }
      } finally {
        store.close();
        mock.timers.reset();
      }
    }),
    { numRuns: 200 },
  );
});
