/** The chaos soak's result and its table by fault class. */
import type { NoEndpointSummary } from './no-endpoint';

export interface ClassRow {
  readonly faultClass: string;
  injected: number;
  wrongfulRemovals: number;
  failedToLive: number;
  /** Calls that reached no instance at all. */
  failedNoEndpoint: number;
  /** Of those, calls made while ARM had an instance of the service live for longer than the bound (failures). */
  noEndpointWhileLive: number;
  failedToNotLive: number;
  unownedWrites: number;
  maxConvergenceMs: number;
  convergenceFailures: number;
}

export interface ChaosReport {
  readonly seed: number;
  readonly faultsPlanned: number;
  readonly faultsInjected: number;
  readonly actions: number;
  readonly durationMs: number;
  readonly soakMs: number;
  readonly convergenceBoundMs: number;
  readonly calls: number;
  readonly rows: readonly ClassRow[];
  readonly memory: { readonly maxHeapMb: number; readonly maxRssMb: number; readonly limitMb: number };
  /** Hand-registered Consul entries byte-identical at the end. */
  readonly foreignIntact: boolean;
  /** One line per invariant violation (capped), with the step it happened in. */
  readonly problems: readonly string[];
  /** Calls that reached no instance: windows, their time share, and the part that counts as failures. */
  readonly noEndpoint: NoEndpointSummary;
  /** Whether the proxyless clients ran with the ADS backoff reset grpc-js-xds 1.14.1 lacks (src/sandbox/traffic/xds-traffic.ts). */
  readonly adsBackoffFix: string;
  /** The commonest errors of calls that reached no endpoint. */
  readonly noEndpointErrors: readonly string[];
  readonly ok: boolean;
}

export function emptyRow(faultClass: string): ClassRow {
  return { faultClass, injected: 0, wrongfulRemovals: 0, failedToLive: 0, failedNoEndpoint: 0, noEndpointWhileLive: 0, failedToNotLive: 0, unownedWrites: 0, maxConvergenceMs: 0, convergenceFailures: 0 };
}

export function totalsOf(rows: readonly ClassRow[]): ClassRow {
  const total = emptyRow('total');
  for (const r of rows) {
    total.injected += r.injected;
    total.wrongfulRemovals += r.wrongfulRemovals;
    total.failedToLive += r.failedToLive;
    total.failedNoEndpoint += r.failedNoEndpoint;
    total.noEndpointWhileLive += r.noEndpointWhileLive;
    total.failedToNotLive += r.failedToNotLive;
    total.unownedWrites += r.unownedWrites;
    total.maxConvergenceMs = Math.max(total.maxConvergenceMs, r.maxConvergenceMs);
    total.convergenceFailures += r.convergenceFailures;
  }
  return total;
}

export function renderChaosReport(report: ChaosReport): string {
  const header = ['fault class', 'faults', 'wrongful removals', 'failed to live', 'no endpoint', 'of which live', 'to not-live', 'unowned writes', 'max convergence', 'not converged'];
  const cells = (r: ClassRow) => [r.faultClass, String(r.injected), String(r.wrongfulRemovals), String(r.failedToLive), String(r.failedNoEndpoint), String(r.noEndpointWhileLive), String(r.failedToNotLive), String(r.unownedWrites), `${r.maxConvergenceMs} ms`, String(r.convergenceFailures)];
  // The actions' row counts actions, not faults: the total counts faults only.
  const rows = [...report.rows.map(cells), cells({ ...totalsOf(report.rows), injected: report.faultsInjected })];
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
    `convergence bound ${report.convergenceBoundMs} ms after each fault ends; memory max heap ${report.memory.maxHeapMb} MB, rss ${report.memory.maxRssMb} MB (limit ${report.memory.limitMb} MB heap); hand-registered Consul entries ${report.foreignIntact ? 'byte-identical' : 'CHANGED'}`,
    `no endpoint: ${n.calls} calls in ${n.windows} window(s) of ${(n.ms / 1000).toFixed(1)} s in all (${(n.share * 100).toFixed(2)} % of the time, per service; longest ${(n.longestMs / 1000).toFixed(1)} s); ` +
      `"of which live": ${n.judgedCalls} calls (${(n.judgedMs / 1000).toFixed(1)} s) while ARM had an instance of the service live for over ${report.convergenceBoundMs} ms — failures; ` +
      `grpc-js-xds ADS backoff reset ${report.adsBackoffFix}`,
    ...(report.noEndpointErrors.length ? ['', 'calls that reached no endpoint, commonest errors:', ...report.noEndpointErrors.map((e) => `  ${e}`)] : []),
    ...(report.problems.length ? ['', 'problems:', ...report.problems.map((p) => `  ${p}`)] : []),
    '',
    report.ok ? 'all invariants held' : `INVARIANTS FAILED — reproduce with: npm run chaos -- --seed ${report.seed} --faults ${report.faultsPlanned}`,
  ].join('\n') + '\n';
}
