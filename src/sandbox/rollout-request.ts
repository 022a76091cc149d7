/**
 * What a sandbox rollout is asked to do, checked before anything is written (pure): the steps
 * (the new scale set's share in percent, increasing, ending at 100), and what `--to` names — the
 * new scale set's name, or an image reference (then the new scale set is named after the old one).
 */

/** The old scale set's share and the new one's, as `vmss-mesh-weight` values (percent). */
export interface StepWeights {
  readonly from: number;
  readonly to: number;
}

/** Calls counted at each step before the next one by default (the sandbox's steady client makes ~40 a second). */
export const DEFAULT_HOLD_CALLS = 200;
export const MAX_HOLD_CALLS = 100_000;
export const MAX_ROLLOUT_STEPS = 20;

/** Problems with a list of steps (empty = fine). */
export function stepProblems(steps: readonly number[]): string[] {
  if (steps.length === 0) return ['no steps given (e.g. 10,50,100)'];
  if (steps.length > MAX_ROLLOUT_STEPS) return [`at most ${MAX_ROLLOUT_STEPS} steps, got ${steps.length}`];
  const problems: string[] = [];
  steps.forEach((step, i) => {
    if (!Number.isInteger(step) || step < 1 || step > 100) problems.push(`step ${i + 1}: ${String(step)} is not a share in percent (a whole number from 1 to 100)`);
    else if (i > 0 && step <= steps[i - 1]!) problems.push(`step ${i + 1}: ${step} does not increase on ${steps[i - 1]!} (steps must increase)`);
  });
  if (problems.length === 0 && steps[steps.length - 1] !== 100) problems.push(`the last step is ${steps[steps.length - 1]!}, not 100 (the old scale set is retired once the new one has all of the traffic)`);
  return problems;
}

/** `10,50,100` → [10, 50, 100]; throws a TypeError naming every problem. */
export function parseSteps(text: string): number[] {
  const items = text.split(',').map((item) => item.trim().replace(/%$/, ''));
  const bad = items.filter((item) => !/^\d{1,3}$/.test(item));
  if (bad.length > 0) throw new TypeError(`--steps: ${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is not a share' : 'are not shares'} in percent (a comma-separated list such as 10,50,100)`);
  const steps = items.map(Number);
  const problems = stepProblems(steps);
  if (problems.length > 0) throw new TypeError(`--steps: ${problems.join('; ')}`);
  return steps;
}

export function weightsAt(step: number): StepWeights {
  return { from: 100 - step, to: step };
}

/** Azure's rule for a scale set name (1–64 letters, digits, `-`, `_`, `.`; starts with a letter or digit; not ending with `.` or `-`). */
const SCALE_SET_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_])?$/;

export type RolloutTarget = { readonly kind: 'scale-set'; readonly name: string } | { readonly kind: 'image'; readonly image: string };

/**
 * What `--to` names: an image reference (a marketplace URN `publisher:offer:sku:version`, or an
 * image / gallery resource ID: anything with `:` or `/`), or else the new scale set's name.
 */
export function rolloutTarget(to: string): RolloutTarget {
  const value = to.trim();
  if (value === '') throw new TypeError('--to is empty (a new scale set name, or an image reference such as Canonical:ubuntu-24_04-lts:server:latest)');
  if (/[:/]/.test(value)) return { kind: 'image', image: value };
  if (!SCALE_SET_NAME.test(value)) throw new TypeError(`--to: ${JSON.stringify(value)} is neither a scale set name (1–64 letters, digits, "-", "_", "."; starting with a letter or digit) nor an image reference (with ":" or "/")`);
  return { kind: 'scale-set', name: value };
}

/** The name of the scale set replacing `current` when only an image is given: `orders` → `orders-v2`, `orders-v2` → `orders-v3`. */
export function nextScaleSetName(current: string, taken: (name: string) => boolean): string {
  const match = /^(.*)-v(\d+)$/.exec(current);
  const base = match ? match[1]! : current;
  for (let n = match ? Number(match[2]) + 1 : 2; ; n++) {
    const name = `${base}-v${n}`;
    if (!taken(name)) return name;
  }
}
