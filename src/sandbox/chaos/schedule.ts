/**
 * The fault schedule of a chaos run, derived from its seed alone: which fault class comes when,
 * with which parameters, and the real ARM actions (scale-out, scale-in, fail, heal) between them.
 * Choices that depend on the world at that moment (which instance to fail) are stored as a number
 * in [0, 1) and resolved against the sorted candidates then.
 */
import { seededRandom } from '../event-grid/seeded-random';

export const FAULT_CLASSES = [
  'arm-404',
  'arm-429',
  'arm-500',
  'arm-slow',
  'arm-hung',
  'arm-wrong-page',
  'consul-down',
  'consul-slow',
  'consul-500',
  'consul-429',
  'consul-lost-after-commit',
  'relay-restart',
  'event-duplicate',
  'event-reorder',
  'event-delay',
  'event-loss',
  'xds-huge-node',
  'xds-never-reading',
  'xds-nack-loop',
  'xds-unknown-types',
  'push-bad-token',
  'push-inflated-index',
  'push-garbage-payload',
] as const;

export type FaultClass = (typeof FAULT_CLASSES)[number];

export type ChaosAction = { readonly kind: 'scale'; readonly set: number; readonly capacity: number } | { readonly kind: 'fail' | 'heal'; readonly pick: number };

export type Step =
  | { readonly kind: 'fault'; readonly index: number; readonly faultClass: FaultClass; readonly windowMs: number; readonly count: number; readonly pick: number; readonly seed: number; readonly action?: ChaosAction }
  | { readonly kind: 'action'; readonly action: ChaosAction };

export interface ScheduleOptions {
  readonly seed: number;
  readonly faults: number;
  /** Fault classes to draw from (default all). */
  readonly classes?: readonly FaultClass[];
  /** Share of steps that are real ARM actions between faults (default 0.15). */
  readonly actionShare?: number;
  /** Scale sets to act on (count) and the capacity range. */
  readonly scaleSets: number;
  readonly maxCapacity: number;
}

function drawAction(random: ReturnType<typeof seededRandom>, options: ScheduleOptions): ChaosAction {
  const roll = random.next();
  if (roll < 0.6) return { kind: 'scale', set: random.int(options.scaleSets), capacity: 1 + random.int(options.maxCapacity) };
  return { kind: roll < 0.8 ? 'fail' : 'heal', pick: random.next() };
}

/** Every class the same number of times (±1), in a seeded order, with actions between. */
export function buildSchedule(options: ScheduleOptions): Step[] {
  const random = seededRandom(options.seed);
  const classes = options.classes ?? FAULT_CLASSES;
  if (classes.length === 0) throw new TypeError('a chaos schedule needs at least one fault class');
  const order: FaultClass[] = [];
  while (order.length < options.faults) order.push(...random.shuffle([...classes]));
  order.length = options.faults;
  const steps: Step[] = [];
  order.forEach((faultClass, index) => {
    while (random.next() < (options.actionShare ?? 0.15)) steps.push({ kind: 'action', action: drawAction(random, options) });
    // Event faults need ARM operations inside their window to act on.
    const action: ChaosAction | undefined = faultClass.startsWith('event-') ? { kind: 'scale', set: random.int(options.scaleSets), capacity: 1 + random.int(options.maxCapacity) } : undefined;
    steps.push({ kind: 'fault', index, faultClass, windowMs: 50 + random.int(200), count: 1 + random.int(3), pick: random.next(), seed: 1 + random.int(2 ** 31 - 2), ...(action ? { action } : {}) });
  });
  return steps;
}
