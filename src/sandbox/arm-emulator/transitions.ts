/**
 * Delayed state changes of the emulated world (Creating → Succeeded, Deleting → gone). Tests never
 * sleep: they await `settled()` (every pending change done) or call `flush()` (do them all now).
 * `close()` clears every timer so a closed world keeps nothing alive.
 */
interface Pending {
  readonly dueAt: number;
  readonly seq: number;
  readonly run: () => void;
  timer: NodeJS.Timeout | undefined;
}

export class Transitions {
  private readonly pending = new Set<Pending>();
  private waiters: Array<() => void> = [];
  private seq = 0;
  private closed = false;

  /** Runs `run` after `delayMs`; at once (synchronously) when `delayMs` is 0 or less. */
  schedule(delayMs: number, run: () => void): void {
    if (this.closed) return;
    if (delayMs <= 0) {
      run();
      return;
    }
    const entry: Pending = { dueAt: Date.now() + delayMs, seq: (this.seq += 1), run, timer: undefined };
    entry.timer = setTimeout(() => this.fire(entry), delayMs);
    this.pending.add(entry);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves once no change is pending (at once if none is). */
  settled(): Promise<void> {
    if (this.pending.size === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Runs every pending change now, in due order, including changes those runs schedule. */
  flush(): void {
    while (this.pending.size > 0 && !this.closed) {
      const next = [...this.pending].sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)[0];
      if (next) this.fire(next);
    }
  }

  close(): void {
    this.closed = true;
    for (const entry of this.pending) clearTimeout(entry.timer);
    this.pending.clear();
    this.wake();
  }

  private fire(entry: Pending): void {
    if (!this.pending.delete(entry)) return;
    clearTimeout(entry.timer);
    try {
      entry.run();
    } finally {
      if (this.pending.size === 0) this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
