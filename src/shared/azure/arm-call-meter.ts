/**
 * Counts ARM requests. Clients are shared by every reconcile in a process, so a per-reconcile count
 * cannot be a before/after difference of one counter: `measure()` opens an AsyncLocalStorage scope
 * and only requests made inside it (however deep, however concurrent with others) count towards it.
 * Every HTTP attempt counts, retries included: that is what ARM's throttling budget charges.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface ArmCallStats {
  /** HTTP requests sent (each retry is one more). */
  readonly requests: number;
  /** Of which answered 429. */
  readonly throttled: number;
  /** Of which failed otherwise (status ≥ 400 other than 429, or no response). */
  readonly failed: number;
}

interface MutableStats {
  requests: number;
  throttled: number;
  failed: number;
}

const zero = (): MutableStats => ({ requests: 0, throttled: 0, failed: 0 });

export class ArmCallMeter {
  private readonly all = zero();
  private readonly scopes = new AsyncLocalStorage<readonly MutableStats[]>();

  /** Records one HTTP attempt; `status` undefined = no response (network error). */
  record(status: number | undefined): void {
    const targets = [this.all, ...(this.scopes.getStore() ?? [])];
    for (const stats of targets) {
      stats.requests += 1;
      if (status === 429) stats.throttled += 1;
      else if (status === undefined || status >= 400) stats.failed += 1;
    }
  }

  /** Everything since the meter was created. */
  get totals(): ArmCallStats {
    return { ...this.all };
  }

  /**
   * Runs `work` and reports the requests it made. Scopes nest: an outer measure also counts what an
   * inner one does. `calls` is `stats.requests`, for callers that want one number.
   */
  async measure<T>(work: () => Promise<T>): Promise<{ readonly result: T; readonly calls: number; readonly stats: ArmCallStats }> {
    const own = zero();
    const chain = [...(this.scopes.getStore() ?? []), own];
    const result = await this.scopes.run(chain, work);
    return { result, calls: own.requests, stats: { ...own } };
  }
}
