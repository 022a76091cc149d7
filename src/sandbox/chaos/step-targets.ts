/**
 * What a schedule step touches, known from the step alone (its seed draws the same way when the
 * fault is injected): the ARM route and scale set an ARM fault meets, the scale set an ARM change
 * scales. Overlapped runs keep an ARM fault and a change of the same scale set apart, because the
 * fault holds that set's reconcile (a hang for 5 s, Retry-After, back-off) and the change would
 * wait for it.
 */
import { seededRandom } from '../event-grid/seeded-random';
import { SANDBOX_SCALE_SETS } from '../sandbox';
import type { Step } from './schedule';

export const ARM_LIST_ROUTES = ['vmss.list', 'vmssVm.list', 'vmssNic.list', 'vm.list', 'nic.list'] as const;
export const ARM_ROUTES = ['vmss.get', ...ARM_LIST_ROUTES] as const;
/**
 * The listings a wrong page is aimed at: those the app makes at every reconcile of their set (or
 * sweep). Not the resource group's NIC listing: the app reads a Flexible set's NICs one by one
 * (`nic.get`, which has no pages) while the group's listing would cost more requests
 * (src/shared/azure/flexible-nics.ts), e.g. always with one instance, so a wrong page there was
 * often met by nothing.
 */
export const PAGE_FAULT_ROUTES = ['vmss.list', 'vmssVm.list', 'vmssNic.list', 'vm.list'] as const;
export const PAGE_FAULTS = ['empty-page', 'drop-last-item', 'broken-next-link'] as const;
export type ArmRoute = (typeof ARM_ROUTES)[number];

/**
 * The emulator routes a fault on `route` is armed on: a fault on the Flexible set's NICs
 * (`nic.list`) is armed on both ways the app reads them, the group's listing and one GET per NIC,
 * whichever the app's strategy picks at that moment (flexible-nics.ts: GETs while they cost fewer
 * requests than the listing's pages).
 */
export function armedRoutes(route: ArmRoute): readonly string[] {
  return route === 'nic.list' ? ['nic.list', 'nic.get'] : [route];
}

/** The ARM route of an ARM fault, with a wrong page's kind and a slow answer's delay: the first draws of the step's seed. */
export function armFaultPlan(step: Extract<Step, { kind: 'fault' }>): { readonly route: ArmRoute; readonly pageFault?: (typeof PAGE_FAULTS)[number]; readonly delayMs?: number } {
  const random = seededRandom(step.seed);
  if (step.faultClass === 'arm-404') return { route: 'vmss.get' };
  if (step.faultClass === 'arm-wrong-page') {
    const route = PAGE_FAULT_ROUTES[random.int(PAGE_FAULT_ROUTES.length)]!;
    return { route, pageFault: PAGE_FAULTS[random.int(PAGE_FAULTS.length)]! };
  }
  const route = ARM_ROUTES[random.int(ARM_ROUTES.length)]!;
  return step.faultClass === 'arm-slow' ? { route, delayMs: 200 + random.int(1_300) } : { route };
}

/** The scale set (index in SANDBOX_SCALE_SETS) a fault's `pick` names. */
export const pickedSet = (step: Extract<Step, { kind: 'fault' }>): number => Math.floor(step.pick * SANDBOX_SCALE_SETS.length);

const MODE_ROUTES: Readonly<Record<'Uniform' | 'Flexible', readonly ArmRoute[]>> = { Uniform: ['vmssVm.list', 'vmssNic.list'], Flexible: ['vm.list', 'nic.list'] };

/**
 * The scale sets whose reconcile an ARM fault can meet (indexes), or 'sweep' when only the
 * timer's sweep asks its route (the subscription's scale sets). A GET of a scale set is one set's
 * when scoped (`scoped`: overlapped runs scope it to the picked set), else every set's.
 */
export function armFaultSets(step: Step, scoped: boolean): readonly number[] | 'sweep' | undefined {
  if (step.kind !== 'fault' || !step.faultClass.startsWith('arm-')) return undefined;
  const { route } = armFaultPlan(step);
  if (route === 'vmss.list') return 'sweep';
  if (route === 'vmss.get') return step.faultClass === 'arm-404' || scoped ? [pickedSet(step)] : SANDBOX_SCALE_SETS.map((_, i) => i);
  return SANDBOX_SCALE_SETS.flatMap((spec, i) => (MODE_ROUTES[spec.mode].includes(route) ? [i] : []));
}

/**
 * What an ARM fault arms in overlapped runs: its route, and the scale set for a scale set's GET
 * (scoped to the picked set). Two faults of the same key would be told apart by nothing (the
 * requests they meet look alike), so one of each key is armed at a time; faults of different
 * keys may be armed together, on one scale set too.
 */
export function armFaultKey(step: Step): string | undefined {
  if (step.kind !== 'fault' || !step.faultClass.startsWith('arm-')) return undefined;
  const { route } = armFaultPlan(step);
  return route === 'vmss.get' ? `${route}/${SANDBOX_SCALE_SETS[pickedSet(step)]!.name}` : route;
}

/** The scale set an ARM change of the step scales, 'health' for a fail or heal (any set, seen by the sweep only), else undefined. */
export function changedSet(step: Step): number | 'health' | undefined {
  if (step.kind === 'action') return step.action.kind === 'scale' ? step.action.set : 'health';
  if (step.action?.kind === 'scale') return step.action.set;
  if (step.faultClass.startsWith('push-')) return pickedSet(step);
  return undefined;
}
