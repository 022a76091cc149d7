/**
 * Event Grid faults: the sandbox hands every delivery to the gate first (`beforeDelivery`), which
 * passes it, duplicates it (same event IDs, as a redelivery), drops it (loss) or holds it (to
 * deliver later: delayed, or reversed with an old event replayed among them: reordering).
 */
import type { ArmOperationRecord } from '../arm-emulator';

export type GateMode = 'pass' | 'duplicate' | 'drop' | 'hold';

export class EventGate {
  mode: GateMode = 'pass';
  private held: ArmOperationRecord[] = [];
  passed = 0;
  dropped = 0;
  /** Operations the gate duplicated, dropped or held (those a fault reached). */
  affected = 0;

  readonly filter = (operations: readonly ArmOperationRecord[]): readonly ArmOperationRecord[] => {
    switch (this.mode) {
      case 'pass':
        this.passed += operations.length;
        return operations;
      case 'duplicate':
        this.passed += operations.length;
        this.affected += operations.length;
        return [...operations, ...operations];
      case 'drop':
        this.dropped += operations.length;
        this.affected += operations.length;
        return [];
      case 'hold':
        this.held.push(...operations);
        this.affected += operations.length;
        return [];
    }
  };

  /** Ends the fault: back to passing; answers what was held, oldest first. */
  release(): ArmOperationRecord[] {
    this.mode = 'pass';
    return this.held.splice(0);
  }
}
