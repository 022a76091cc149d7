/** The chaos soak's result and its table by fault class. */
import type { NoEndpointSummary } from './no-endpoint';
import { renderTiming, type ChaosTiming } from './timing';

export interface ClassRow {
  readonly faultClass: string;
  injected: number;
  /** Faults that reached what they aim at (a request they answered, an event they held, …). */
  reached: number;
  wrongfulRemovals: number;
  /** Commits that turned an instance ARM had shown running and healthy critical or drained it. */
  wrongfulFlips: number;
  /** Commits that registered an instance ARM had shown gone, or marked passing one it had shown not live. */
  zombieRegistrations: number;
  failedToLive: number;
  /** Calls that reached no instance at all. */
  failedNoEndpoint: number;
  /** Of those, calls made while ARM had an instance of the service live for longer than the bound (failures). */
  noEndpointWhileLive: number;
  failedToNotLive: number;
  unownedWrites: number;
  /** Hostile requests the relay answered otherwise than it must (a push not refused for its token, …). */
  wrongAnswers: number;
  maxConvergenceMs: number;
  convergenceFailures: number;
}

/** The columns that count things (one per fault, call, commit, …). */
export type CountField = Exclude<keyof ClassRow, 'faultClass' | 'maxConvergenceMs'>;

export interface ChaosReport {
  readonly seed: number;
  readonly faultsPlanned: number;
  /** The fault classes asked for, when not all. */
  readonly classes?: readonly string[];
  /** The injection time limit asked for. */
  readonly maxMs?: number;
  /** Faults of independent classes ran at the same time (batches); a row then counts what happened while its class ran. */
  readonly overlap?: boolean;
  /** The reconcile timer's period, when not the default 10 s. */
  readonly timerSeconds?: number;
  /** Each thing counted once (with overlap, the rows' sum counts it once per class that was running). */
  readonly total?: ClassRow;
  /** Wall time of each phase (start-up, first convergence, warm-up, soak, end, stop). */
  readonly phases?: readonly string[];
  /** The sandbox's Event Grid feed: deliveries, failed first attempts, redeliveries (none when redelivery is off). */
  readonly eventGrid?: { readonly deliveries: number; readonly failedFirstAttempts: number; readonly redeliveries: number; readonly acceptedAfterRetry: number; readonly givenUp: number };
  readonly faultsInjected: number;
  readonly actions: number;
  readonly durationMs: number;
  readonly soakMs: number;
  readonly convergenceBoundMs: number;
  readonly calls: number;
  readonly rows: readonly ClassRow[];
  /** Heap: after warm-up (the baseline), the most seen, and the limit (baseline + headroom). */
  readonly memory: { readonly baselineHeapMb: number; readonly maxHeapMb: number; readonly maxRssMb: number; readonly limitMb: number };
  /** Hand-registered Consul entries byte-identical at the end. */
  readonly foreignIntact: boolean;
  /** The mesh node that got someone else's service and check, and what became of it (`still ours`, `released`, …). */
  readonly sharedNode: string;
  /** One line per invariant violation (capped), with the step it happened in. */
  readonly problems: readonly string[];
  /** Calls that reached no instance: windows, their time share, and the part that counts as failures. */
  readonly noEndpoint: NoEndpointSummary;
  /** Whether the proxyless clients ran with the ADS backoff reset grpc-js-xds 1.14.1 lacks (src/sandbox/traffic/xds-traffic.ts). */
  readonly adsBackoffFix: string;
  /** The commonest errors of calls that reached no endpoint. */
  readonly noEndpointErrors: readonly string[];
  /** Where the soak's wall time went. */
  readonly timing?: ChaosTiming;
  readonly ok: boolean;
}

export function emptyRow(faultClass: string): ClassRow {
  return {
    faultClass,
    injected: 0,
    reached: 0,
    wrongfulRemovals: 0,
    wrongfulFlips: 0,
    zombieRegistrations: 0,
    failedToLive: 0,
    failedNoEndpoint: 0,
    noEndpointWhileLive: 0,
    failedToNotLive: 0,
    unownedWrites: 0,
    wrongAnswers: 0,
    maxConvergenceMs: 0,
    convergenceFailures: 0,
  };
}

export function totalsOf(rows: readonly ClassRow[]): ClassRow {
  const total = emptyRow('total');
  for (const r of rows) {
    total.injected += r.injected;
    total.reached += r.reached;
    total.wrongfulRemovals += r.wrongfulRemovals;
    total.wrongfulFlips += r.wrongfulFlips;
    total.zombieRegistrations += r.zombieRegistrations;
    total.failedToLive += r.failedToLive;
    total.failedNoEndpoint += r.failedNoEndpoint;
    total.noEndpointWhileLive += r.noEndpointWhileLive;
    total.failedToNotLive += r.failedToNotLive;
    total.unownedWrites += r.unownedWrites;
    total.wrongAnswers += r.wrongAnswers;
    total.maxConvergenceMs = Math.max(total.maxConvergenceMs, r.maxConvergenceMs);
    total.convergenceFailures += r.convergenceFailures;
  }
  return total;
}

export const ACTION_ROW = 'ARM actions (no fault)';
const DEFAULT_BOUND_MS = 15_000;
const DEFAULT_TIMER_SECONDS = 10;

/** The command that runs the same schedule again: seed, faults, and the options that shape it when they were given. */
export function reproduceCommand(report: Pick<ChaosReport, 'seed' | 'faultsPlanned' | 'classes' | 'maxMs' | 'convergenceBoundMs' | 'overlap' | 'timerSeconds'>): string {
  return [
    `npm run chaos -- --seed ${report.seed} --faults ${report.faultsPlanned}`,
    ...(report.overlap ? ['--overlap'] : []),
    ...(report.timerSeconds !== undefined && report.timerSeconds !== DEFAULT_TIMER_SECONDS ? [`--timer-seconds ${report.timerSeconds}`] : []),
    ...(report.classes ? [`--classes ${report.classes.join(',')}`] : []),
    ...(report.convergenceBoundMs !== DEFAULT_BOUND_MS ? [`--bound-ms ${report.convergenceBoundMs}`] : []),
    ...(report.maxMs !== undefined ? [`--minutes ${report.maxMs / 60_000}`] : []),
  ].join(' ');
}

/** Fault classes injected whose faults never reached what they aim at (the run did not test them). */
export function unreachedClasses(report: Pick<ChaosReport, 'rows'>): string[] {
  return report.rows.filter((r) => r.faultClass !== ACTION_ROW && r.injected > 0 && r.reached === 0).map((r) => r.faultClass);
}

export function renderChaosReport(report: ChaosReport): string {
  const header = ['fault class', 'faults', 'reached', 'wrongful removals', 'wrongful flips', 'zombies', 'failed to live', 'no endpoint', 'of which live', 'to not-live', 'unowned writes', 'wrong answers', 'max convergence', 'not converged'];
  const cells = (r: ClassRow) => [
    r.faultClass,
    String(r.injected),
    r.faultClass === ACTION_ROW ? '-' : String(r.reached),
    String(r.wrongfulRemovals),
    String(r.wrongfulFlips),
    String(r.zombieRegistrations),
    String(r.failedToLive),
    String(r.failedNoEndpoint),
    String(r.noEndpointWhileLive),
    String(r.failedToNotLive),
    String(r.unownedWrites),
    String(r.wrongAnswers),
    `${r.maxConvergenceMs} ms`,
    String(r.convergenceFailures),
  ];
  // The actions' row counts actions, not faults: the total counts faults only.
  const rows = [...report.rows.map(cells), cells({ ...(report.total ?? totalsOf(report.rows)), injected: report.faultsInjected })];
  const unreached = unreachedClasses(report);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const seconds = report.soakMs / 1000;
  const n = report.noEndpoint;
  return [
    line(header),
    ...rows.slice(0, -1).map(line),
    line(rows[rows.length - 1]!),
    '',
    `seed ${report.seed}: ${report.faultsInjected} faults and ${report.actions} ARM actions in ${seconds.toFixed(1)} s (${(report.faultsInjected / Math.max(seconds, 0.001)).toFixed(1)} faults/s; ${(report.durationMs / 1000).toFixed(1)} s with start and stop), ${report.calls} client calls`,
    ...(report.overlap ? ['overlapped: faults of independent classes ran at the same time; a row counts what happened while its class ran, the total counts it once'] : []),
    ...(report.timerSeconds !== undefined && report.timerSeconds !== DEFAULT_TIMER_SECONDS ? [`reconcile timer every ${report.timerSeconds} s`] : []),
    ...(report.phases?.length ? [`phases: ${report.phases.join(', ')}`] : []),
    ...(report.timing ? renderTiming(report.timing) : []),
    ...(report.eventGrid ? [`Event Grid: ${report.eventGrid.deliveries} deliveries, ${report.eventGrid.failedFirstAttempts} failed at first, ${report.eventGrid.redeliveries} redeliveries, ${report.eventGrid.acceptedAfterRetry} accepted after a redelivery, ${report.eventGrid.givenUp} given up`] : []),
    `convergence bound ${report.convergenceBoundMs} ms after each fault ends; memory: heap ${report.memory.baselineHeapMb} MB after warm-up, max ${report.memory.maxHeapMb} MB (limit ${report.memory.limitMb} MB), rss max ${report.memory.maxRssMb} MB; hand-registered Consul entries ${report.foreignIntact ? 'byte-identical' : 'CHANGED'} (mesh node with foreign entries: ${report.sharedNode})`,
    ...(unreached.length ? [`fault classes that reached nothing (untested): ${unreached.join(', ')}`] : []),
    `no endpoint: ${n.calls} calls in ${n.windows} window(s) of ${(n.ms / 1000).toFixed(1)} s in all (${(n.share * 100).toFixed(2)} % of the time, per service; longest ${(n.longestMs / 1000).toFixed(1)} s); ` +
      `"of which live": ${n.judgedCalls} calls (${(n.judgedMs / 1000).toFixed(1)} s) while ARM had an instance of the service live for over ${report.convergenceBoundMs} ms — failures; ` +
      `grpc-js-xds ADS backoff reset ${report.adsBackoffFix}`,
    ...(report.noEndpointErrors.length ? ['', 'calls that reached no endpoint, commonest errors:', ...report.noEndpointErrors.map((e) => `  ${e}`)] : []),
    ...(report.problems.length ? ['', 'problems:', ...report.problems.map((p) => `  ${p}`)] : []),
    '',
    report.ok ? 'all invariants held' : `INVARIANTS FAILED — reproduce with: ${reproduceCommand(report)}`,
  ].join('\n') + '\n';
}
