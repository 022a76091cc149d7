/**
 * The sandbox's timeline: the last notable things (ARM operations, deliveries, reconciles, pushes,
 * ACKs, the sandbox's own actions), newest last, at most 200.
 */
import type { TimelineEntry, TimelineKind } from './sandbox-state';

const TIMELINE_LENGTH = 200;

export class Timeline {
  readonly entries: TimelineEntry[] = [];

  note(kind: TimelineKind, summary: string): void {
    this.entries.push({ at: new Date().toISOString(), kind, summary });
    if (this.entries.length > TIMELINE_LENGTH) this.entries.splice(0, this.entries.length - TIMELINE_LENGTH);
  }
}
