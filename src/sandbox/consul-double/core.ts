/**
 * The double's single writer: every write runs against the world at the next index (World.transact
 * undoes it when it fails), then wakes blocked queries. Also what tests see of the world
 * (`ConsulDoubleState`): snapshots, the request log, and a hook that runs before each request.
 */
import type { CheckEntry, KvEntry, NodeEntry, ServiceEntry } from './catalog-kv-state';
import { World } from './catalog-kv-state';
import { compareStrings } from '../../shared/compare-strings';

export interface RequestInfo {
  readonly method: string;
  /** Path as received, e.g. `/v1/kv/a/b`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly token: string;
}

/** What a hook may answer instead of the double (fault injection: 500, 429, …). */
export interface HookReply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A hook's answer that closes the connection without any response (a crashed or unreachable agent). */
export interface DropReply {
  readonly drop: true;
}

/**
 * Runs before each request is handled (after it is fully received). It may await anything (to
 * interleave concurrent clients deterministically), change the world through HTTP, or answer.
 */
export type RequestHook = (info: RequestInfo) => void | HookReply | DropReply | undefined | Promise<void | HookReply | DropReply | undefined>;

/**
 * Runs after a request whose handling committed a write (the index moved), before the answer is
 * sent: it may replace the answer or drop the connection, so the client sees a failure although
 * the write is committed ("lost response after commit").
 */
export type AfterWriteHook = (info: RequestInfo) => HookReply | DropReply | undefined;

/** One committed change, as whole-world snapshots before and after (for observers in tests). */
export interface CommitRecord {
  readonly before: WorldSnapshot;
  readonly after: WorldSnapshot;
}

export type CommitObserver = (commit: CommitRecord) => void;

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
}

export interface KvSnapshotEntry extends Omit<KvEntry, 'value'> {
  /** The value decoded as UTF-8; null when empty. */
  readonly value: string | null;
}

export interface WorldSnapshot {
  readonly index: number;
  readonly nodes: readonly NodeEntry[];
  readonly services: readonly ServiceEntry[];
  readonly checks: readonly CheckEntry[];
  readonly kv: readonly KvSnapshotEntry[];
}

export interface ConsulDoubleState {
  /** The last Raft index handed out. */
  readonly index: number;
  snapshot(): WorldSnapshot;
  setBeforeRequest(hook: RequestHook | undefined): void;
  /** See `AfterWriteHook`; undefined removes it. */
  setAfterWrite(hook: AfterWriteHook | undefined): void;
  /** Calls `observer` synchronously after every commit; returns the function that stops it. */
  observeCommits(observer: CommitObserver): () => void;
  /** Every request handled so far (hook answers included), oldest first. */
  readonly requests: readonly LoggedRequest[];
  clearRequests(): void;
  /** Resolves once the index passes `index`, or with false after `timeoutMs`. */
  waitForIndexAbove(index: number, timeoutMs: number): Promise<boolean>;
}

export class DoubleCore implements ConsulDoubleState {
  private current = new World();
  private readonly listeners = new Set<() => void>();
  private hook: RequestHook | undefined;
  private afterWriteHook: AfterWriteHook | undefined;
  private readonly commitObservers = new Set<CommitObserver>();
  readonly log: LoggedRequest[] = [];
  closed = false;

  get world(): World {
    return this.current;
  }

  get index(): number {
    return this.current.index;
  }

  get requests(): readonly LoggedRequest[] {
    return this.log;
  }

  get beforeRequest(): RequestHook | undefined {
    return this.hook;
  }

  setBeforeRequest(hook: RequestHook | undefined): void {
    this.hook = hook;
  }

  get afterWrite(): AfterWriteHook | undefined {
    return this.afterWriteHook;
  }

  setAfterWrite(hook: AfterWriteHook | undefined): void {
    this.afterWriteHook = hook;
  }

  observeCommits(observer: CommitObserver): () => void {
    this.commitObservers.add(observer);
    return () => this.commitObservers.delete(observer);
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  /** Applies `fn` at the next index; a throw undoes everything it changed and rethrows. */
  commit<T>(fn: (w: World, idx: number) => T): T {
    return this.attempt(fn, () => true).result;
  }

  /**
   * Applies `fn` at the next index and keeps what it did only when `keep(result)` (a transaction
   * whose operations failed is undone without throwing). Observers and blocked queries hear of
   * kept writes only.
   */
  attempt<T>(fn: (w: World, idx: number) => T, keep: (result: T) => boolean): { readonly result: T; readonly kept: boolean } {
    const world = this.current;
    const before = this.commitObservers.size > 0 ? snapshotOf(world) : undefined;
    const idx = world.index + 1;
    const outcome = world.transact(() => fn(world, idx), keep);
    if (!outcome.kept) return outcome;
    world.index = idx;
    if (before) {
      const commit = { before, after: snapshotOf(world) };
      for (const observer of [...this.commitObservers]) observer(commit);
    }
    this.notify();
    return outcome;
  }

  /** Resolves on the next change, after `ms`, or at close; whichever comes first. */
  nextChange(ms: number, abort?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(done);
        abort?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.listeners.add(done);
      abort?.addEventListener('abort', done);
    });
  }

  async waitForIndexAbove(index: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.current.index <= index) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return false;
      await this.nextChange(left);
    }
    return true;
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  snapshot(): WorldSnapshot {
    return snapshotOf(this.current);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function snapshotOf(w: World): WorldSnapshot {
  return {
      index: w.index,
      nodes: [...w.nodes.values()].sort((a, b) => compareStrings(a.node, b.node)),
      services: w.allServices().sort((a, b) => compareStrings(a.node, b.node) || compareStrings(a.id, b.id)),
      checks: w.allChecks().sort((a, b) => compareStrings(a.node, b.node) || compareStrings(a.checkId, b.checkId)),
      kv: [...w.kv.values()]
        .sort((a, b) => compareStrings(a.key, b.key))
        .map((e) => ({ ...e, value: e.value === null ? null : Buffer.from(e.value, 'base64').toString('utf8') })),
  };
}
