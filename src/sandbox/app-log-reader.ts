/**
 * Reads the Functions app's log records (one JSON line per event, see src/functions/log-line.ts):
 * reconciles and sweeps that did something, and the pushes they made, go to the timeline, from the
 * lines' structured fields (`event`, `outcome`, `via`, counts), never from their wording; a
 * reconcile acknowledged at its deadline ('queued') counts as work in flight until a sweep that
 * began after it has ended.
 */
import type { HostLogRecord } from './functions-host/functions-host';
import type { Timeline } from './timeline';

/** The fields of the app's log lines the sandbox reads. */
interface AppLogLine {
  readonly event?: string;
  readonly msg?: string;
  readonly outcome?: string;
  readonly via?: string;
  readonly registered?: number;
  readonly updated?: number;
  readonly deregistered?: number;
  readonly changedServices?: string[];
  readonly failedPushes?: unknown;
}

export class AppLogReader {
  /** Sweeps ended since the last delivery acknowledged as 'queued'; undefined when none is waiting for a sweep. */
  private sweepsSinceQueued: number | undefined;

  constructor(private readonly timeline: Timeline) {}

  /** 1 while a 'queued' acknowledgement has not been followed by a sweep that began after it, else 0. */
  queuedWork(): number {
    return this.sweepsSinceQueued === undefined ? 0 : 1;
  }

  read(record: HostLogRecord): void {
    if (record.level === 'error' || record.level === 'warning') this.timeline.note('sandbox', `${record.functionName}: ${record.message.slice(0, 200)}`);
    const line = parseLine(record.message);
    if (!line) return;
    // Sweeps run one at a time: the second to end after a 'queued' acknowledgement began after it.
    if (line.event === 'reconcile' && line.outcome === 'queued') this.sweepsSinceQueued = 0;
    if (line.event === 'sweep' && this.sweepsSinceQueued !== undefined && ++this.sweepsSinceQueued >= 2) this.sweepsSinceQueued = undefined;
    // A reconcile that found Consul already matching ARM, or was covered by another run, is routine.
    if (line.event === 'reconcile' && line.msg && line.outcome !== 'unchanged' && line.via !== 'covered') {
      this.timeline.note('reconcile', line.msg);
      if (line.changedServices?.length) this.timeline.note('push', `pushed ${line.changedServices.join(', ')} to the relay${line.failedPushes ? ' (some pushes failed)' : ''}`);
    }
    // Sweeps that changed nothing are routine; only the ones that did something make the timeline.
    if (line.event === 'sweep' && line.msg && changedAny(line)) this.timeline.note('reconcile', `timer: ${line.msg}`);
  }
}

function parseLine(message: string): AppLogLine | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(message);
    return typeof parsed === 'object' && parsed !== null ? (parsed as AppLogLine) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a sweep registered, updated or deregistered anything. */
function changedAny(line: AppLogLine): boolean {
  return [line.registered, line.updated, line.deregistered].some((count) => count !== 0);
}
