/**
 * Overlapped runs (the short mode): the schedule's steps grouped into batches whose members run at
 * the same time and are judged together. Each step belongs to a lane — the part of the world its
 * fault arms or drives (ARM's fault queue, Consul's hooks, the Event Grid gate, hostile xDS
 * clients, the relay and its push API, plain ARM actions) — and a batch takes at most one step of
 * each lane, in the lane's schedule order, so two faults never share one mechanism (clearing one
 * would clear the other). Across lanes, steps that would spoil each other stay apart:
 * - an ARM fault and a change of a scale set the fault meets (the fault holds that set's reconcile
 *   — a 5 s hang, Retry-After, back-off — and the change would wait for it); a fail or heal, seen
 *   through the timer's sweep only, and any ARM fault (the sweep meets them all);
 * - a push with an inflated index, which must be answered FAILED_PRECONDITION after the relay reads
 *   Consul, and a Consul fault; a slow Consul, which holds every reconcile, and an ARM fault, an
 *   ARM change or the relay's restart;
 * - two ARM faults on the subscription's listing (nothing would tell which one a request used).
 * The steps and their order in each lane come from the seed; which batch a step lands in also
 * depends on what is still held when the batch starts (`blocked`).
 */
import type { Step } from './schedule';
import { armFaultSets, changedSet, pickedSet } from './step-targets';

/** ARM faults have a lane per scale set they meet (`arm-0`, …); one the sweep alone meets goes by its pick. */
export type Lane = `arm-${number}` | 'consul' | 'events' | 'xds' | 'relay' | 'actions';

export function laneOf(step: Step): Lane {
  if (step.kind === 'action') return 'actions';
  const c = step.faultClass;
  const sets = armFaultSets(step, true);
  if (sets === 'sweep') return `arm-${pickedSet(step as Extract<Step, { kind: 'fault' }>)}`;
  if (sets !== undefined) return `arm-${sets[0] ?? 0}`;
  if (c.startsWith('consul-')) return 'consul';
  if (c.startsWith('event-')) return 'events';
  if (c.startsWith('xds-')) return 'xds';
  return 'relay';
}

/** Would an ARM fault that meets `sets` hold the change `changed`? */
export function holds(sets: readonly number[] | 'sweep', changed: number | 'health' | undefined): boolean {
  if (changed === undefined) return false;
  if (changed === 'health') return true;
  return sets !== 'sweep' && sets.includes(changed);
}

/** Steps of different lanes that must not run at the same time. */
export function conflict(a: Step, b: Step): boolean {
  const one = (x: Step, y: Step) => {
    if (x.kind === 'fault' && x.faultClass === 'push-inflated-index' && laneOf(y) === 'consul') return true;
    // A slow Consul (up to 1.5 s a request) holds every reconcile and the relay's start: only passive faults share its batch.
    if (x.kind === 'fault' && x.faultClass === 'consul-slow' && (changedSet(y) !== undefined || laneOf(y) === 'relay')) return true;
    const sets = armFaultSets(x, true);
    if (sets === undefined) return false;
    // Two faults on the subscription's listing would be told apart by nothing; a slow Consul holds every reconcile the fault provokes.
    if (sets === 'sweep' && armFaultSets(y, true) === 'sweep') return true;
    if (y.kind === 'fault' && y.faultClass === 'consul-slow') return true;
    return holds(sets, changedSet(y));
  };
  return one(a, b) || one(b, a);
}

/** Hands out batches from the lanes; `blocked` keeps a step back for now (a set still held by an earlier ARM fault). */
export class BatchPlanner {
  private readonly lanes = new Map<Lane, Step[]>();
  /** Batches each lane's head has waited for (a conflict), which moves the lane forward. */
  private readonly waited = new Map<Lane, number>();

  constructor(steps: readonly Step[]) {
    for (const step of steps) {
      const lane = laneOf(step);
      this.lanes.set(lane, [...(this.lanes.get(lane) ?? []), step]);
    }
  }

  get done(): boolean {
    return [...this.lanes.values()].every((left) => left.length === 0);
  }

  /**
   * The next batch: the head of each lane that conflicts with nothing taken and is not blocked,
   * the lanes with the most steps left first, a lane whose head lost to a conflict once going
   * first next time (so the longest lane sets the number of batches and no lane starves). Empty
   * when every head is blocked.
   */
  next(blocked: (step: Step) => boolean = () => false): Step[] {
    const weight = (lane: Lane, left: readonly Step[]) => left.length + 1_000 * (this.waited.get(lane) ?? 0);
    const order = [...this.lanes.entries()].filter(([, left]) => left.length > 0).sort(([a, x], [b, y]) => weight(b, y) - weight(a, x));
    const batch: Step[] = [];
    for (const [lane, left] of order) {
      const head = left[0]!;
      if (blocked(head)) continue;
      if (batch.some((s) => conflict(s, head))) {
        this.waited.set(lane, (this.waited.get(lane) ?? 0) + 1);
        continue;
      }
      this.waited.delete(lane);
      batch.push(left.shift()!);
    }
    return batch;
  }
}

/** Every batch at once, nothing blocked (what the planner gives when no ARM fault holds anything). */
export function batchSteps(steps: readonly Step[]): Step[][] {
  const planner = new BatchPlanner(steps);
  const batches: Step[][] = [];
  while (!planner.done) batches.push(planner.next());
  return batches;
}
