/** `vmss-mesh scenario` (`npm run scenario`): the scripted story over the whole sandbox, with a report. */
import { renderReport, runScenario, stepPassed } from '../sandbox/scenario';
import { EXIT, parseArgsOrUsage, type CliIo } from './command';

const USAGE = `Usage: vmss-mesh scenario [options]

Runs the sandbox headless through a scripted story — scale-out 2 → 6, scale-in 6 → 2 with drain,
an instance failing and healing, a relay restart, duplicated and reordered events, a blue/green
rollout of orders to a second scale set (10, 50, 100 %, then the old one retired), and retry tags
while an instance fails half its calls with UNAVAILABLE — and prints, for each step, how fast
traffic followed the ARM change, each scale set's measured share against its weight, the time from
the tag write to every client having the new weights, the requests that failed, and whether Consul
and the relay ended equal to ARM. Exit code 1 when any step ended different from ARM, a share was
more than 5 points off its weight, or requests failed (the flaky-instance step: 1 % or more).

Options:
      --fast         Short lifecycle timings (create 0.3 s, drain 1 s, timer every second).
  -h, --help         Show this help.
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgsOrUsage({ args, options: { fast: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const timings = values.fast ? { createDelayMs: 300, drainMs: 1000, timerSchedule: '* * * * * *' } : { createDelayMs: 2000, drainMs: 4000, timerSchedule: '*/2 * * * * *' };
  const reports = await runScenario({
    ...timings,
    hostPort: 0,
    relayPort: 0,
    relayAdminPort: 0,
    onStep: (r) => void io.stderr.write(`  ${r.step}: ${r.durationMs} ms${r.failedRequests ? `, ${r.failedRequests} failed requests` : ''}\n`),
  });
  io.stdout.write(renderReport(reports));
  const bad = reports.filter((r) => !stepPassed(r));
  return bad.length === 0 ? EXIT.ok : EXIT.failure;
}
