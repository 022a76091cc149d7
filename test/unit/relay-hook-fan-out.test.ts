/**
 * The relay's hook fan-out (admin/hook-fan-out.ts): every hook set gets every call, in order, with
 * its arguments and itself as `this`; a throwing set stops neither the others nor the caller; a set
 * without a method is skipped.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamInfo } from '../../src/relay/ads/ads-hooks';
import { combineHooks, combineObservers, combinePushHooks, fanOut } from '../../src/relay/admin/hook-fan-out';

describe('hook fan-out', () => {
  test('calls every set in order with the same arguments; a throwing set stops no one', () => {
    const calls: string[] = [];
    const first = { onState: (s: string) => calls.push(`first ${s}`) };
    const thrower = {
      onState: () => {
        throw new Error('broken observer');
      },
    };
    const last = { onState: (s: string) => calls.push(`last ${s}`), onLoaded: (n: number, i: number) => calls.push(`loaded ${n}@${i}`) };
    const observer = combineObservers(first, thrower, last);
    assert.doesNotThrow(() => observer.onState?.('watching'));
    observer.onLoaded?.(3, 42);
    assert.deepEqual(calls, ['first watching', 'last watching', 'loaded 3@42']);
  });

  test('every method of the interface is there, even when no set has it', () => {
    const hooks = combineHooks({}, {});
    assert.deepEqual(Object.keys(hooks).sort(), ['onLimitExceeded', 'onRequest', 'onResponse', 'onStreamClosed', 'onStreamOpen']);
    assert.doesNotThrow(() => hooks.onStreamClosed?.({ streamId: 1 } as StreamInfo, 'gone'));
    assert.deepEqual(Object.keys(combinePushHooks()).sort(), ['onPush', 'onRejected']);
  });

  test('a method is called on its own set (this)', () => {
    class Counter {
      count = 0;
      onRejected(): void {
        this.count += 1;
      }
    }
    const a = new Counter();
    const b = new Counter();
    const push = combinePushHooks(a, b);
    const detached = push.onRejected;
    detached?.('unauthenticated', 'no token', '127.0.0.1:1');
    assert.equal(a.count, 1);
    assert.equal(b.count, 1);
  });

  test('fanOut serves any hooks interface named in full', () => {
    interface Tick {
      onTick?(n: number): void;
    }
    const seen: number[] = [];
    const both = fanOut<Tick>({ onTick: true }, [{ onTick: (n) => seen.push(n) }, { onTick: (n) => seen.push(n * 10) }]);
    both.onTick?.(2);
    assert.deepEqual(seen, [2, 20]);
  });
});
