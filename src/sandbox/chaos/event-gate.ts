/**
 * Event Grid faults: the sandbox hands every delivery to the gate first (`beforeDelivery`), which
 * passes it, duplicates it (same event IDs, as a redelivery), drops it (loss) or holds it (to
 * deliver later: delayed, or reversed with an old event replayed among them: reordering). The
 * gate has a mode per scale set (operations of a set's scale set or of one of its VMs), so event
 * faults on two scale sets run at the same time (overlapped runs), each on its own events.
 */
import type { ArmOperationRecord } from '../arm-emulator';

export type GateMode = 'pass' | 'duplicate' | 'drop' | 'hold';

/** The scale set (index) an operation belongs to, or undefined (passed as it is). */
export type OperationSet = (operation: ArmOperationRecord) => number | undefined;

/** By name: the scale set's own URI, or one of its VMs (Flexible VMs are named `<scale set>_…`). */
export function operationSetByName(names: readonly string[]): OperationSet {
  const lower = names.map((n) => n.toLowerCase());
  return (operation) => {
    const uri = operation.resourceUri.toLowerCase();
    const i = lower.findIndex((n) => new RegExp(`/virtualmachinescalesets/${n}(/|$)|/virtualmachines/${n}_`).test(uri));
    return i === -1 ? undefined : i;
  };
}

interface SetGate {
  mode: GateMode;
  held: ArmOperationRecord[];
  affected: number;
}

export class EventGate {
  private readonly sets = new Map<number, SetGate>();
  passed = 0;
  dropped = 0;

  constructor(readonly setOf: OperationSet) {}

  private gate(set: number): SetGate {
    return this.sets.get(set) ?? this.sets.set(set, { mode: 'pass', held: [], affected: 0 }).get(set)!;
  }

  /** Starts a fault on the events of one scale set. */
  start(set: number, mode: Exclude<GateMode, 'pass'>): void {
    this.gate(set).mode = mode;
  }

  /** Operations of the set the gate duplicated, dropped or held so far (those its faults reached). */
  affected(set: number): number {
    return this.gate(set).affected;
  }

  /** Every set's events pass. */
  get idle(): boolean {
    return [...this.sets.values()].every((g) => g.mode === 'pass');
  }

  readonly filter = (operations: readonly ArmOperationRecord[]): readonly ArmOperationRecord[] => {
    const out: ArmOperationRecord[] = [];
    // A duplicate comes after the whole delivery, as a redelivery would (same event IDs).
    const again: ArmOperationRecord[] = [];
    for (const operation of operations) {
      const set = this.setOf(operation);
      const gate = set === undefined ? undefined : this.sets.get(set);
      switch (gate?.mode ?? 'pass') {
        case 'pass':
          this.passed += 1;
          out.push(operation);
          break;
        case 'duplicate':
          this.passed += 1;
          gate!.affected += 1;
          out.push(operation);
          again.push(operation);
          break;
        case 'drop':
          this.dropped += 1;
          gate!.affected += 1;
          break;
        case 'hold':
          gate!.held.push(operation);
          gate!.affected += 1;
          break;
      }
    }
    return [...out, ...again];
  };

  /** Ends the set's fault: back to passing; answers what was held, oldest first. */
  release(set: number): ArmOperationRecord[] {
    const gate = this.gate(set);
    gate.mode = 'pass';
    return gate.held.splice(0);
  }
}
