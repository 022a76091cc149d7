/** `vmss-mesh chaos` (`npm run chaos`): the seeded chaos soak over the sandbox, with its table by fault class. */
import { renderChaosReport } from '../sandbox/chaos/report';
import { runChaos } from '../sandbox/chaos/runner';
import { FAULT_CLASSES, type FaultClass } from '../sandbox/chaos/schedule';
import { EXIT, parseArgsOrUsage, UsageError, type CliIo } from './command';

const USAGE = `Usage: vmss-mesh chaos [options]

Runs the sandbox headless (ARM emulator, Consul double, the Functions app, the relay, a proxyless
gRPC client per service and an Envoy-profile ADS client) and injects a seeded schedule of faults
of every class — ARM 404/429/500/slow/hung/wrong pages, Consul down/slow/500/429/lost answers after
commit, relay restarts, Event Grid duplicates/reordering/delay/loss, hostile xDS and push clients —
between real scale-out, scale-in, fail and heal actions. After every step it checks: no instance
ARM lists as running is deregistered, none it shows running and healthy turns critical or drained,
none it shows gone is registered or marked passing, no failed call to a live instance, nothing the
mesh does not own is written, hostile pushes are refused for the right reason, Consul and the relay
equal ARM within the convergence bound, the heap within 256 MB of its size after warm-up. Prints a
table by fault class; exit code 1 when an invariant failed.

Options:
      --seed N           Seed of the fault schedule (default: random, printed).
      --faults N         Faults to inject (default 1000).
      --minutes M        Stop injecting after M minutes (default: no limit).
      --bound-ms N       Convergence bound after each fault (default 15000).
      --classes a,b      Only these fault classes (default all): ${FAULT_CLASSES.join(', ')}.
      --overlap          Run faults of independent classes at the same time (the short mode of
                         \`npm test\`): a batch takes one step of each lane (ARM faults, Consul
                         faults, event faults, hostile xDS clients, relay restarts and pushes,
                         ARM actions) and is judged as one step; ARM faults and health changes
                         run the timer's sweep at once; ARM's instance operations are shorter
                         (create 100 ms, drain 400 ms). A row then counts what happened while its
                         class ran; the total counts each thing once.
      --timer-seconds N  Period of the reconcile timer (default 10; must divide 60).
  -v, --verbose          One line per step on stderr.
  -h, --help             Show this help.
`;

function positive(name: string, raw: string | undefined, fallback: number, integer = true): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`);
  return value;
}

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgsOrUsage({
    args,
    options: {
      seed: { type: 'string' },
      faults: { type: 'string' },
      minutes: { type: 'string' },
      'bound-ms': { type: 'string' },
      classes: { type: 'string' },
      overlap: { type: 'boolean' },
      'timer-seconds': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const seed = values.seed === undefined ? 1 + Math.floor(Math.random() * 2 ** 31) : positive('seed', values.seed, 1);
  const faults = positive('faults', values.faults, 1000);
  const minutes = values.minutes === undefined ? undefined : positive('minutes', values.minutes, 1, false);
  const classes = values.classes?.split(',').map((c) => c.trim());
  for (const c of classes ?? []) if (!(FAULT_CLASSES as readonly string[]).includes(c)) throw new UsageError(`unknown fault class ${JSON.stringify(c)} (there are ${FAULT_CLASSES.join(', ')})`);
  const timerSeconds = values['timer-seconds'] === undefined ? undefined : positive('timer-seconds', values['timer-seconds'], 10);
  if (timerSeconds !== undefined && (timerSeconds > 59 || 60 % timerSeconds !== 0)) throw new UsageError(`--timer-seconds must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), got ${timerSeconds}`);
  io.stderr.write(`chaos: seed ${seed}, ${faults} faults${minutes ? `, at most ${minutes} min` : ''}${values.overlap ? ', overlapped' : ''}\n`);
  const report = await runChaos({
    seed,
    faults,
    ...(minutes ? { maxMs: minutes * 60_000 } : {}),
    convergenceBoundMs: positive('bound-ms', values['bound-ms'], 15_000),
    ...(classes ? { classes: classes as FaultClass[] } : {}),
    ...(values.overlap ? { overlap: true } : {}),
    ...(timerSeconds !== undefined ? { timerSeconds } : {}),
    ...(values.verbose ? { log: (line: string) => void io.stderr.write(`  ${line}\n`) } : {}),
  });
  io.stdout.write(renderChaosReport(report));
  const code = report.ok ? EXIT.ok : EXIT.failure;
  // runChaos closes everything it opened, so the process ends by itself. Last resort, should a
  // handle still be open: say which (a leak to fix) and end anyway, the report being out.
  // Unref'd: it fires only when something else still holds the event loop.
  setTimeout(() => {
    io.stderr.write(`chaos: still open 5 s after the report (a leak): ${process.getActiveResourcesInfo().join(', ')}\n`);
    process.exit(code);
  }, 5_000).unref();
  return code;
}
