import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hintSummary } from '../../src/functions/hint-log';
import { logLine } from '../../src/functions/log-line';
import type { ReconcileHint } from '../../src/shared/model';
import type { ReconcileReport } from '../../src/shared/reconcile/reconcile-scale-set';
import { scaleSetRef } from '../../src/shared/resource-id';
import { AppLogReader } from '../../src/sandbox/app-log-reader';
import { Timeline } from '../../src/sandbox/timeline';

// A scale set whose name holds the words the timeline used to match in the message text.
const ref = scaleSetRef('s1', 'rg', 'unchanged-covered');
const hint: ReconcileHint = { target: { kind: 'scale-set', ref }, eventId: 'e1', reason: 'event', eventTime: new Date().toISOString() };
const report = (counts: { registered: number; updated: number; deregistered: number }, outcome: ReconcileReport['outcome']): ReconcileReport => ({
  scaleSetId: ref.id,
  outcome,
  ...counts,
  skipped: [],
  armCalls: 1,
  changedServices: outcome === 'applied' ? ['orders'] : [],
  pushes: [],
  durationMs: 3,
});
const record = (message: string) => ({ time: new Date().toISOString(), functionName: 'vmssEvents', invocationId: 'i1', level: 'information' as const, message });

function read(...lines: object[]) {
  const timeline = new Timeline();
  const reader = new AppLogReader(timeline);
  for (const line of lines) reader.read(record(logLine(line)));
  return { entries: timeline.entries.map((e) => `${e.kind}: ${e.summary}`), reader };
}

test('app log reader: a reconcile goes to the timeline by its outcome and via fields, not by the words of its message', () => {
  const applied = hintSummary(hint, { kind: 'reconciled', ref, via: 'ran', result: report({ registered: 1, updated: 0, deregistered: 0 }, 'applied') });
  const unchanged = hintSummary(hint, { kind: 'reconciled', ref, via: 'ran', result: report({ registered: 0, updated: 0, deregistered: 0 }, 'unchanged') });
  const covered = hintSummary(hint, { kind: 'reconciled', ref, via: 'covered', result: report({ registered: 1, updated: 0, deregistered: 0 }, 'applied') });
  const { entries } = read(applied, unchanged, covered);
  assert.deepEqual(entries, [`reconcile: ${String(applied.msg)}`, 'push: pushed orders to the relay']);
});

test('app log reader: a sweep goes to the timeline when its counts say it changed something', () => {
  const sweep = (registered: number, deregistered: number) => ({ msg: `swept 1 scale sets: +${registered} ~0 -${deregistered}, (unchanged-covered)`, event: 'sweep', scaleSets: 1, registered, updated: 0, deregistered });
  const { entries } = read(sweep(0, 0), sweep(0, 2));
  assert.deepEqual(entries, ['reconcile: timer: swept 1 scale sets: +0 ~0 -2, (unchanged-covered)']);
});

test("app log reader: a 'queued' acknowledgement is work in flight until the second sweep after it ends", () => {
  const queued = hintSummary(hint, { kind: 'queued', ref, waitedMs: 5000, busySince: Date.now() });
  const sweep = { msg: 'swept', event: 'sweep', registered: 0, updated: 0, deregistered: 0 };
  const { reader } = read(queued);
  assert.equal(reader.queuedWork(), 1);
  reader.read(record(logLine(sweep)));
  assert.equal(reader.queuedWork(), 1);
  reader.read(record(logLine(sweep)));
  assert.equal(reader.queuedWork(), 0);
});
