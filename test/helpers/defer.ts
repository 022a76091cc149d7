/**
 * Cleanups that run in reverse order of registration, like Go's `defer`: what was started last
 * stops first. node:test runs `t.after` hooks in the order they were added, which stops a server
 * before the clients started after it — and a @grpc/grpc-js-xds client whose control plane is
 * gone when it is closed keeps a queued (wait-for-ready) ADS call, and so the process, alive.
 */
import type { TestContext } from 'node:test';

export function deferrer(t: TestContext): (cleanup: () => unknown) => void {
  const stack: Array<() => unknown> = [];
  t.after(async () => {
    const failures: unknown[] = [];
    for (const cleanup of stack.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'cleanup failed');
  });
  return (cleanup) => void stack.push(cleanup);
}
