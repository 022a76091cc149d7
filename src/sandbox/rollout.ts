/**
 * A blue/green rollout in the sandbox, through the same path as any other ARM change: a second
 * scale set for the service is created in the ARM emulator (same tags, `vmss-mesh-weight=0`, same
 * capacity), and once its instances are registered and serving, its share is raised step by step by
 * writing `vmss-mesh-weight` on both scale sets (ordinary ARM writes: Event Grid → reconcile →
 * Consul → relay → clients). At 100 the old scale set has weight 0 (drained); once no call reaches
 * it any more it is deleted.
 *
 * Every wait is on a condition (instances serving, the relay holding the new weights and every
 * proxyless client of the service having ACKed them, a number of calls made), each bounded by
 * `stepTimeoutMs`. Each step reports the weights, the measured share of each scale set, the time
 * from the tag write to the clients' ACK and to the first (last) call on a scale set whose
 * weight rose from (fell to) 0, and the failed calls.
 */
import type { Relay } from '../relay/relay';
import type { ServiceEndpointSet } from '../shared/endpoints';
import { meshTagName } from '../shared/azure/mesh-tags';
import { errorMessage } from '../shared/errors';
import type { ArmWorld, EmulatedScaleSet, ScaleSetSelector } from './arm-emulator';
import { clientsHave, healthCheck, waitFor } from './rollout-waits';
import { DEFAULT_HOLD_CALLS, nextScaleSetName, rolloutTarget, stepProblems, weightsAt } from './rollout-request';
import type { SandboxScaleSetSpec } from './scale-set-specs';
import { primaryIpOf } from './sandbox-state-builder';
import type { SandboxState } from './sandbox-state';
import type { CallRecord, XdsTraffic } from './traffic/xds-traffic';

/** What a rollout needs of the running sandbox. */
export interface RolloutContext {
  readonly arm: ArmWorld;
  relay(): Relay;
  selectorOf(name: string): ScaleSetSelector;
  /** The scale sets the sandbox runs backends for. */
  specs(): readonly SandboxScaleSetSpec[];
  /** Adds a scale set (before it is created in ARM, so its instances get backends). */
  addSpec(spec: SandboxScaleSetSpec): void;
  removeSpec(name: string): void;
  /** A state built after this call. */
  refreshed(): Promise<SandboxState>;
  /** Addresses of the nodes registered in Consul as read by the last state build. */
  registeredAddresses(): readonly string[];
  /** The sandbox's own traffic clients of a service (their calls are counted). */
  traffic(service: string): readonly XdsTraffic[];
}

export interface RolloutRequest {
  /** A service name or the name of its scale set. */
  readonly service: string;
  /** The new scale set's name, or an image reference (then the name is derived). */
  readonly to: string;
  readonly steps: readonly number[];
  /** Calls counted at each step before the next (default 200); 0 = do not wait for traffic. */
  readonly holdCalls?: number;
}

export interface RolloutOptions {
  /** Deadline of each wait (default 120 s). */
  readonly stepTimeoutMs?: number;
  /** More traffic clients whose calls count (the scenario's fast measuring client). */
  readonly measureWith?: readonly XdsTraffic[];
  /** Calls counted at a step, per step (overrides holdCalls; e.g. more at the 90/10 step). */
  readonly holdCallsAt?: (step: number) => number;
  readonly onLine?: (line: string) => void;
  /** Called after each step, awaited before the next (the scenario checks the world here). */
  readonly onStep?: (result: RolloutStepResult) => Promise<void> | void;
  /** Stops the rollout at its next wait (the sandbox closing). */
  readonly signal?: AbortSignal;
}

/** The resolved plan: which scale set is replaced by which. */
export interface RolloutPlan {
  readonly service: string;
  readonly from: SandboxScaleSetSpec;
  readonly to: string;
  /** The new scale set's image when `--to` named one; otherwise the old scale set's (if it has one). */
  readonly image?: string;
  readonly steps: readonly number[];
  readonly holdCalls: number;
}

/** How a plan's image reads in progress lines. */
export function imageOf(plan: RolloutPlan): string {
  return plan.image ?? `same image as ${plan.from.name}`;
}

export interface RolloutStepResult {
  readonly name: string;
  readonly kind: 'create' | 'shift' | 'retire';
  /** Each scale set's `vmss-mesh-weight` after the step. */
  readonly weights: Readonly<Record<string, number>>;
  /** Each scale set's share of the calls counted at the step (0–1); empty without traffic. */
  readonly shares: Readonly<Record<string, number>>;
  /** Calls counted at the step (after the clients had the new weights). */
  readonly measuredCalls: number;
  /** Calls made and failed from the start of the step to its end. */
  readonly calls: number;
  readonly failed: number;
  /** ms from the tag write to the relay holding the new weights and every client of the service having ACKed them. */
  readonly shiftMs?: number;
  /** ms from the tag write to the first call on a scale set whose weight rose from 0, or the last call on one whose weight fell to 0. */
  readonly trafficMs?: number;
  readonly durationMs: number;
}

/** A rollout the sandbox refuses before doing anything (unknown service, name taken, …). */
export class RolloutRefused extends Error {}

export const DEFAULT_ROLLOUT_STEP_TIMEOUT_MS = 120_000;

/** Checks a request against the sandbox as it is now; throws RolloutRefused with what is wrong. */
export function planRollout(ctx: RolloutContext, request: RolloutRequest): RolloutPlan {
  const problems = stepProblems(request.steps);
  if (problems.length > 0) throw new RolloutRefused(`steps: ${problems.join('; ')}`);
  const specs = ctx.specs();
  const matching = specs.filter((s) => s.name === request.service || s.service === request.service);
  if (matching.length === 0) {
    const known = [...new Set(specs.flatMap((s) => [s.service, s.name]))].join(', ');
    throw new RolloutRefused(`no service or scale set ${JSON.stringify(request.service)} in the sandbox (there are ${known})`);
  }
  const exact = matching.find((s) => s.name === request.service);
  if (!exact && matching.length > 1) throw new RolloutRefused(`service ${request.service} has ${matching.length} scale sets (${matching.map((s) => s.name).join(', ')}): name the one to replace`);
  const from = exact ?? matching[0]!;
  const set = ctx.arm.getScaleSet(ctx.selectorOf(from.name));
  if (!set || set.provisioningState === 'Deleting') throw new RolloutRefused(`scale set ${from.name} is ${set ? 'being deleted' : 'gone'}`);
  let target;
  try {
    target = rolloutTarget(request.to);
  } catch (error) {
    throw new RolloutRefused(errorMessage(error));
  }
  const taken = (name: string) => ctx.arm.getScaleSet(ctx.selectorOf(name)) !== undefined || specs.some((s) => s.name.toLowerCase() === name.toLowerCase());
  const to = target.kind === 'scale-set' ? target.name : nextScaleSetName(from.name, taken);
  if (target.kind === 'scale-set' && taken(to)) throw new RolloutRefused(`scale set ${to} already exists: name a new one, or give an image reference`);
  const holdCalls = request.holdCalls ?? DEFAULT_HOLD_CALLS;
  if (!Number.isInteger(holdCalls) || holdCalls < 0) throw new RolloutRefused(`holdCalls must be a whole number 0 or more, got ${String(request.holdCalls)}`);
  return { service: from.service, from, to, ...(target.kind === 'image' ? { image: target.image } : {}), steps: [...request.steps], holdCalls };
}

/** The index (1 = unsuffixed) of `service` among a scale set's mesh tags. */
function serviceIndex(tags: Readonly<Record<string, string>>, service: string): number {
  for (const [name, value] of Object.entries(tags)) {
    const match = /^vmss-mesh-service(?:-(\d+))?$/i.exec(name);
    if (match && value.trim() === service) return match[1] ? Number(match[1]) : 1;
  }
  throw new RolloutRefused(`the tags of the scale set do not declare service ${service}`);
}

/** Tags with `name` set to `value` (any other casing of the name replaced). */
function withTag(tags: Readonly<Record<string, string>>, name: string, value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) if (k.toLowerCase() !== name) out[k] = v;
  out[name] = value;
  return out;
}

export async function runRollout(ctx: RolloutContext, plan: RolloutPlan, options: RolloutOptions = {}): Promise<RolloutStepResult[]> {
  const timeoutMs = options.stepTimeoutMs ?? DEFAULT_ROLLOUT_STEP_TIMEOUT_MS;
  const until = (deadlineMs: number, what: string, condition: () => boolean | Promise<boolean>) => waitFor(deadlineMs, what, condition, options.signal);
  const line = options.onLine ?? (() => undefined);
  const results: RolloutStepResult[] = [];
  const oldName = plan.from.name;
  const newName = plan.to;
  const sources = () => [...ctx.traffic(plan.service), ...(options.measureWith ?? [])];
  const totals = () => sources().reduce((sum, t) => ({ calls: sum.calls + t.totals().calls, failed: sum.failed + t.totals().failed }), { calls: 0, failed: 0 });
  const records = (since: number): CallRecord[] => sources().flatMap((t) => t.recordsSince(since)).sort((a, b) => a.at - b.at);
  const countSince = (since: number): number => sources().reduce((sum, t) => sum + t.recordsSince(since).length, 0);
  const instanceNames = new Map<string, string>();
  const scaleSetOfCall = (instance: string | undefined): string | undefined => {
    if (!instance) return undefined;
    if (!instanceNames.has(instance)) {
      for (const name of [oldName, newName]) if (ctx.arm.getScaleSet(ctx.selectorOf(name))) for (const i of ctx.arm.listInstances(ctx.selectorOf(name))) instanceNames.set(i.name, name);
    }
    return instanceNames.get(instance);
  };
  const finish = (partial: Omit<RolloutStepResult, 'calls' | 'failed' | 'durationMs'>, started: number, before: { calls: number; failed: number }) => {
    const after = totals();
    const result: RolloutStepResult = { ...partial, calls: after.calls - before.calls, failed: after.failed - before.failed, durationMs: Date.now() - started };
    results.push(result);
    return result;
  };

  // 1. The new scale set: the old one's tags with weight 0, its capacity, zones and mode.
  let started = Date.now();
  let before = totals();
  const old = ctx.arm.getScaleSet(ctx.selectorOf(oldName));
  if (!old) throw new Error(`scale set ${oldName} is gone`);
  const index = serviceIndex(old.tags, plan.service);
  const weightTag = meshTagName('weight', index);
  const capacity = Math.max(1, old.capacity);
  ctx.addSpec({ ...plan.from, name: newName });
  ctx.arm.createScaleSet({
    subscriptionId: old.subscriptionId,
    resourceGroup: old.resourceGroup,
    name: newName,
    location: old.location,
    zones: old.zones,
    orchestrationMode: old.orchestrationMode,
    vmSize: old.vmSize,
    ...(plan.image !== undefined ? { imageReference: plan.image } : old.imageReference !== undefined ? { imageReference: old.imageReference } : {}),
    capacity,
    tags: withTag(old.tags, weightTag, '0'),
  });
  line(`created ${newName} (${imageOf(plan)}, ${capacity} instance${capacity === 1 ? '' : 's'}, ${weightTag}=0) next to ${oldName}`);
  const created = ctx.arm.getScaleSet(ctx.selectorOf(newName))!;
  await until(timeoutMs, `${newName}'s instances registered and serving`, () => newServing(ctx, plan, created, capacity));
  const readyMs = Date.now() - started;
  line(`${newName}: ${capacity} instance${capacity === 1 ? '' : 's'} registered, passing and serving after ${readyMs} ms; no traffic yet (weight 0)`);
  await options.onStep?.(finish({ name: `create ${newName} (weight 0)`, kind: 'create', weights: { [oldName]: weightOfTags(old.tags, weightTag), [newName]: 0 }, shares: {}, measuredCalls: 0 }, started, before));

  // 2. The steps.
  let previous = { from: weightOfTags(old.tags, weightTag), to: 0 };
  for (const [n, step] of plan.steps.entries()) {
    started = Date.now();
    before = totals();
    const weights = weightsAt(step);
    // Raise the new one first: a moment of more traffic on the scale set that has the capacity,
    // never a moment of less on both.
    const written = Date.now();
    writeWeight(ctx, newName, weightTag, weights.to);
    writeWeight(ctx, oldName, weightTag, weights.from);
    const want = { [setId(ctx, oldName)]: weights.from, [setId(ctx, newName)]: weights.to };
    const acked = await clientsHave(ctx.relay(), plan.service, (set) => hasWeights(set, want), `weights ${oldName} ${weights.from} / ${newName} ${weights.to}`, timeoutMs, options.signal);
    const shiftMs = acked - written;
    const hold = options.holdCallsAt?.(step) ?? plan.holdCalls;
    // Without traffic (a sandbox started without its clients) there is nothing to count.
    if (hold > 0 && sources().length > 0) await until(timeoutMs, `${hold} calls at step ${step} %`, () => countSince(acked) >= hold);
    const counted = records(acked);
    const shares = sharesOf(counted, scaleSetOfCall, [oldName, newName]);
    const all = records(written);
    let trafficMs: number | undefined;
    if (previous.to === 0 && weights.to > 0) trafficMs = firstAt(all, (r) => scaleSetOfCall(r.instance) === newName, written);
    if (previous.from > 0 && weights.from === 0) trafficMs = lastAt(all, (r) => scaleSetOfCall(r.instance) === oldName, written);
    const result = finish({ name: `shift ${step} % to ${newName}`, kind: 'shift', weights: { [oldName]: weights.from, [newName]: weights.to }, shares, measuredCalls: counted.length, shiftMs, ...(trafficMs === undefined ? {} : { trafficMs }) }, started, before);
    line(
      `step ${n + 1}/${plan.steps.length}: ${oldName} ${weights.from} / ${newName} ${weights.to} — clients had the new weights ${shiftMs} ms after the tag write` +
        (trafficMs === undefined ? '' : `, ${previous.to === 0 && weights.to > 0 ? 'first call on' : 'last call on'} ${previous.to === 0 && weights.to > 0 ? newName : oldName} at ${trafficMs} ms`) +
        (counted.length > 0 ? `; ${counted.length} calls: ${[oldName, newName].map((s) => `${s} ${pct(shares[s] ?? 0)} (weight ${result.weights[s]})`).join(', ')}` : '') +
        `; ${result.failed} failed`,
    );
    await options.onStep?.(result);
    previous = weights;
  }

  // 3. Retire the old scale set: no call reaches it any more (it has had weight 0 since the last
  //    step and every client ACKed that), then delete it and wait until it is gone everywhere.
  started = Date.now();
  before = totals();
  const quiet = Math.max(20, Math.min(plan.holdCalls, 200));
  const drainedSince = started;
  if (sources().length > 0) {
    await until(timeoutMs, `${quiet} calls in a row not on ${oldName}`, () => {
      const recent = records(drainedSince);
      return recent.length >= quiet && recent.slice(-quiet).every((r) => scaleSetOfCall(r.instance) !== oldName);
    });
  }
  const oldIps = new Set(ctx.arm.listInstances(ctx.selectorOf(oldName)).map(primaryIpOf));
  const oldId = setId(ctx, oldName);
  ctx.arm.deleteScaleSet(ctx.selectorOf(oldName));
  line(`${oldName} gets no calls (weight 0); deleting it`);
  await until(timeoutMs, `${oldName} deleted and deregistered`, async () => {
    if (ctx.arm.getScaleSet(ctx.selectorOf(oldName))) return false;
    await ctx.refreshed();
    const registered = ctx.registeredAddresses().some((address) => oldIps.has(address));
    const inRelay = ctx.relay().meshState.published()?.services.get(plan.service)?.endpoints.some((e) => e.scaleSet === oldId) ?? false;
    return !registered && !inRelay;
  });
  ctx.removeSpec(oldName);
  const lastOld = lastAt(records(0), (r) => scaleSetOfCall(r.instance) === oldName, started);
  const retired = finish({ name: `retire ${oldName}`, kind: 'retire', weights: { [newName]: 100 }, shares: sharesOf(records(started), scaleSetOfCall, [oldName, newName]), measuredCalls: records(started).length }, started, before);
  line(`${oldName} deleted and deregistered (${retired.durationMs} ms); ${newName} serves ${plan.service} alone; ${retired.failed} failed calls${lastOld === undefined ? '' : `; a call reached ${oldName} ${lastOld} ms into the retirement`}`);
  await options.onStep?.(retired);
  return results;
}

function setId(ctx: RolloutContext, name: string): string {
  const set = ctx.arm.getScaleSet(ctx.selectorOf(name));
  if (!set) throw new Error(`scale set ${name} is gone`);
  return set.id.toLowerCase();
}

function weightOfTags(tags: Readonly<Record<string, string>>, weightTag: string): number {
  const value = Object.entries(tags).find(([k]) => k.toLowerCase() === weightTag)?.[1];
  return value === undefined ? 100 : Number(value);
}

function writeWeight(ctx: RolloutContext, name: string, weightTag: string, weight: number): void {
  const set = ctx.arm.getScaleSet(ctx.selectorOf(name));
  if (!set) throw new Error(`scale set ${name} is gone`);
  ctx.arm.setTags(ctx.selectorOf(name), withTag(set.tags, weightTag, String(weight)));
}

/** The new scale set's instances: running in ARM, passing in Consul, in the relay's data with weight 0, and answering a direct health check. */
async function newServing(ctx: RolloutContext, plan: RolloutPlan, created: EmulatedScaleSet, capacity: number): Promise<boolean> {
  const instances = ctx.arm.listInstances(ctx.selectorOf(created.name));
  if (instances.length !== capacity || !instances.every((i) => i.provisioningState === 'Succeeded' && i.powerState === 'running')) return false;
  const state = await ctx.refreshed();
  const view = state.scaleSets.find((s) => s.name === created.name);
  if (!view || view.instances.length !== capacity || !view.instances.every((i) => i.consul === 'passing')) return false;
  const id = created.id.toLowerCase();
  const endpoints = ctx.relay().meshState.published()?.services.get(plan.service)?.endpoints.filter((e) => e.scaleSet === id) ?? [];
  if (endpoints.length !== capacity || !endpoints.every((e) => e.health === 'passing')) return false;
  const answers = await Promise.all(instances.map((i) => healthCheck(primaryIpOf(i), plan.from.port)));
  return answers.every(Boolean);
}

/** Every endpoint of each scale set (lower-case ID) carries its weight. */
function hasWeights(set: ServiceEndpointSet, weights: Readonly<Record<string, number>>): boolean {
  return Object.entries(weights).every(([id, w]) => {
    const endpoints = set.endpoints.filter((e) => e.scaleSet === id);
    return endpoints.length > 0 && endpoints.every((e) => e.scaleSetWeight === w);
  });
}

function sharesOf(records: readonly CallRecord[], scaleSetOf: (instance: string | undefined) => string | undefined, names: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  let answered = 0;
  for (const r of records) {
    const set = scaleSetOf(r.instance);
    if (!set) continue;
    answered += 1;
    counts.set(set, (counts.get(set) ?? 0) + 1);
  }
  if (answered === 0) return {};
  return Object.fromEntries(names.map((n) => [n, (counts.get(n) ?? 0) / answered]));
}

function firstAt(records: readonly CallRecord[], match: (r: CallRecord) => boolean, since: number): number | undefined {
  const hit = records.find(match);
  return hit ? Math.max(0, hit.at - since) : undefined;
}

function lastAt(records: readonly CallRecord[], match: (r: CallRecord) => boolean, since: number): number | undefined {
  const hits = records.filter(match);
  const last = hits[hits.length - 1];
  return last && last.at >= since ? last.at - since : undefined;
}

function pct(share: number): string {
  return `${(100 * share).toFixed(1)} %`;
}
