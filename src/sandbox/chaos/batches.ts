/**
 * Overlapped runs (the short mode): the schedule's steps grouped into batches whose members run at
 * the same time and are judged together. Each step belongs to a lane — the part of the world its
 * fault arms or drives (ARM's fault queue by route, Consul's hook, the Event Grid gate of a scale
 * set, hostile xDS clients, relay restarts, hostile pushes of a scale set, scale actions of a
 * scale set, fail and heal) — and a batch takes at most one step of each lane, in the lane's
 * schedule order, so two faults never share one mechanism (clearing one would clear the other).
 * Across lanes, steps that would spoil each other stay apart:
 * - an ARM fault and a change of a scale set the fault meets (the fault holds that set's reconcile
 *   — a 5 s hang, Retry-After, back-off — and the change would wait for it); a fail or heal, seen
 *   through the timer's sweep only, and any ARM fault (the sweep meets them all);
 * - a push with an inflated index, which must be answered FAILED_PRECONDITION after the relay reads
 *   Consul, and a Consul fault; a slow Consul, which holds every reconcile, and an ARM fault, an
 *   ARM change, another Consul fault or the relay's restart; a push and the relay's restart;
 * - two ARM faults on the same route (and scale set, for a GET): nothing would tell which one a
 *   request used. Each such key is a lane of its own, so ARM faults of different routes, on one
 *   scale set too, run at the same time.
 * An ARM fault's lane starts once the other lanes have no change left of a scale set it meets
 * (nor a health change, seen by the sweep, which meets every fault) (`next`).
 * The steps and their order in each lane come from the seed; which batch a step lands in also
 * depends on what is still held when the batch starts (`blocked`).
 */
import type { Step } from './schedule';
import { armFaultKey, armFaultSets, changedSet, pickedSet } from './step-targets';

/** ARM faults have a lane per route they arm (`arm-vmssVm.list`, …; a scale set's GET one per set, `arm-vmss.get/orders`). */
export type Lane = `arm-${string}` | 'consul' | 'consul-slow' | `events-${number}` | 'xds' | 'relay' | `push-${number}` | `scale-${number}` | 'health';

export function laneOf(step: Step): Lane {
  // ARM actions: scale changes a lane per scale set; fail and heal one lane (each picks among the
  // instances still healthy then).
  if (step.kind === 'action') return step.action.kind === 'scale' ? `scale-${step.action.set}` : 'health';
  const c = step.faultClass;
  const key = armFaultKey(step);
  if (key !== undefined) return `arm-${key}`;
  // A slow Consul shares its batch with passive faults only: a lane of its own, so the other
  // Consul faults go on beside the changes meanwhile (the two never share a batch: one hook).
  if (c === 'consul-slow') return 'consul-slow';
  if (c.startsWith('consul-')) return 'consul';
  // The Event Grid gate has a mode per scale set: one lane per set an event fault scales.
  if (c.startsWith('event-')) {
    const set = changedSet(step);
    return `events-${typeof set === 'number' ? set : 0}`;
  }
  if (c.startsWith('xds-')) return 'xds';
  // Hostile pushes: a lane per scale set they push (and scale after); relay restarts one of their own.
  if (c.startsWith('push-')) return `push-${pickedSet(step as Extract<Step, { kind: 'fault' }>)}`;
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
    if (x.kind === 'fault' && x.faultClass === 'push-inflated-index' && laneOf(y).startsWith('consul')) return true;
    // A push while the relay restarts would find no relay to answer it.
    if (laneOf(x) === 'relay' && laneOf(y).startsWith('push-')) return true;
    // A slow Consul (up to 1.5 s a request) holds every reconcile and the relay's start: only passive faults share its batch
    // (not another Consul fault: both set Consul's one request hook).
    if (x.kind === 'fault' && x.faultClass === 'consul-slow' && (changedSet(y) !== undefined || laneOf(y) === 'relay' || laneOf(y) === 'consul')) return true;
    const sets = armFaultSets(x, true);
    if (sets === undefined) return false;
    // Two faults on the same route (and set) would be told apart by nothing; a slow Consul holds every reconcile the fault provokes.
    if (armFaultKey(x) === armFaultKey(y)) return true;
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
   *
   * An ARM fault's lane starts once no other lane has a change left of a set its head meets (or a
   * health change): an ARM fault holds its sets for seconds (until a request met it, then its
   * reconciles), far longer than a change takes, so with both at once the changes of a held set
   * waited, and ARM faults kept coming, holding the set back to back; the changes then ran after
   * the ARM faults anyway. The faults of a set whose changes are over run beside the other set's.
   * The passive lanes (Consul, hostile xDS clients) share the batches of both; while changes are
   * left they come after the lanes with changes and a conflict does not move them forward (they
   * catch up beside the ARM faults), so what sets the number of batches before the ARM faults is
   * the longest lane with changes, not a slow Consul or a Consul fault beside an inflated push.
   */
  next(blocked: (step: Step) => boolean = () => false): Step[] {
    const weight = (lane: Lane, left: readonly Step[]) => left.length + 1_000 * (this.waited.get(lane) ?? 0);
    const isArm = (lane: Lane) => lane.startsWith('arm-');
    const changing = (left: readonly Step[]) => left.some((s) => changedSet(s) !== undefined);
    const changesLeft = [...this.lanes.entries()].some(([lane, left]) => !isArm(lane) && changing(left));
    const rank = ([lane, left]: [Lane, Step[]]) => (changesLeft && !changing(left) ? 0 : 1_000_000) + weight(lane, left);
    // An ARM lane waits while another lane has a change its head's fault would hold (a change of
    // a set it meets, or a health change): ARM faults come after all changes of their set.
    const armWaits = (head: Step) => {
      const sets = armFaultSets(head, true) ?? [];
      return [...this.lanes.entries()].some(([lane, left]) => !isArm(lane) && left.some((s) => holds(sets, changedSet(s))));
    };
    const order = [...this.lanes.entries()]
      .filter(([lane, left]) => left.length > 0 && !(isArm(lane) && armWaits(left[0]!)))
      .sort((a, b) => rank(b) - rank(a));
    const batch: Step[] = [];
    for (const [lane, left] of order) {
      const head = left[0]!;
      if (blocked(head)) continue;
      if (batch.some((s) => conflict(s, head))) {
        if (!(changesLeft && !changing(left))) this.waited.set(lane, (this.waited.get(lane) ?? 0) + 1);
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
