/**
 * Server-Sent Events for the status page: every connected page gets the current state when it
 * connects, then a `state` event whenever the sandbox changes — coalesced to at most one per
 * `minIntervalMs` (the world can change hundreds of times a second while traffic flows; a page
 * needs a few frames a second), always with a trailing send so the last change is never lost.
 * The state is serialised once per send and the same bytes go to every page. A `heartbeat`
 * event lets a page tell "quiet" from "disconnected".
 */
import type { ServerResponse } from 'node:http';
import type { SandboxState } from '../sandbox-state';

export interface StateBroadcasterOptions {
  readonly state: () => SandboxState;
  /** Smallest gap between two `state` sends. */
  readonly minIntervalMs: number;
  readonly heartbeatMs: number;
  /** Reports a `state()` that threw; the send is skipped and the next change tries again. */
  readonly onError: (error: unknown) => void;
}

interface Client {
  readonly res: ServerResponse;
  /** Content of the last state this page got: a page is never sent the same state twice. */
  lastKey?: string;
  /** A frame waiting for 'drain': a slow page skips stale states and gets only the newest. */
  pending?: string;
}

export class StateBroadcaster {
  private readonly clients = new Set<Client>();
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private sequence = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: StateBroadcasterOptions) {
    this.heartbeat = setInterval(() => this.broadcast(`event: heartbeat\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over an HTTP response as an event stream and sends the current state at once. */
  attach(res: ServerResponse): void {
    if (this.closed) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    res.flushHeaders();
    const client: Client = { res };
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    res.on('drain', () => {
      const frame = client.pending;
      client.pending = undefined;
      if (frame !== undefined) this.write(client, frame);
    });
    // `retry` tells EventSource how soon to reconnect after the sandbox restarts.
    this.write(client, 'retry: 1000\n\n');
    const snapshot = this.snapshot();
    if (snapshot !== undefined) {
      client.lastKey = snapshot.key;
      this.write(client, this.frame(snapshot.body));
    }
  }

  /** Something changed: send soon, but not more often than `minIntervalMs`. */
  changed(): void {
    if (this.closed || this.timer !== undefined) return;
    const delay = Math.max(0, this.lastSentAt + this.options.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delay);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const client of this.clients) client.res.end();
    this.clients.clear();
  }

  private flush(): void {
    // Nobody listening: nothing to send (a page that connects later gets the state on attach).
    if (this.clients.size === 0) return;
    const snapshot = this.snapshot();
    if (snapshot === undefined) return;
    const behind = [...this.clients].filter((client) => client.lastKey !== snapshot.key);
    if (behind.length === 0) return;
    const frame = this.frame(snapshot.body);
    for (const client of behind) {
      client.lastKey = snapshot.key;
      this.write(client, frame);
    }
    this.lastSentAt = Date.now();
  }

  /** `key` is the state without `generatedAt`, so a state that merely got older is not resent. */
  private snapshot(): { body: string; key: string } | undefined {
    try {
      const state = this.options.state();
      return { body: JSON.stringify(state), key: JSON.stringify({ ...state, generatedAt: '' }) };
    } catch (error) {
      this.options.onError(error);
      return undefined;
    }
  }

  private frame(body: string): string {
    this.sequence += 1;
    return `event: state\nid: ${this.sequence}\ndata: ${body}\n\n`;
  }

  private broadcast(frame: string): void {
    for (const client of this.clients) this.write(client, frame);
  }

  private write(client: Client, frame: string): void {
    if (client.res.writableNeedDrain) {
      // Heartbeats may be dropped; a state frame replaces an older waiting one.
      if (frame.startsWith('event: state')) client.pending = frame;
      return;
    }
    client.res.write(frame);
  }
}
