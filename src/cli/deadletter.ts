/**
 * `vmss-mesh deadletter replay --container URL [--since TIME] [--dry-run]`: reads what Event Grid
 * dead-lettered to a blob container, says what the app does with each event (as `events explain`
 * does), and re-drives each event through the `vmssEvents` handler itself — the function's code
 * path, with an InvocationContext and the app settings from the environment it is given (`io.env`:
 * the shell's for the CLI), not this process's — moving each blob aside (`replayed/…`) once all its
 * events went through. A blob whose replay failed stays.
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext, type LogLevel } from '@azure/functions';
import type { AppRuntime } from '../functions/app-runtime';
import { handleVmssEvent } from '../functions/vmssEvents';
import { loadConfig, type AppConfig, type ScopeConfig } from '../shared/config';
import { envelopeProblem } from '../shared/events/sdk-envelope';
import { errorMessage, InvalidInputError } from '../shared/errors';
import {
  createContainerStore,
  parseContainerUrl,
  parseSince,
  REPLAYED_PREFIX,
  replayDeadLetters,
  type BlobReport,
  type DeadLetteredEvent,
  type DeliveryResult,
  type EventReport,
  type ReplayProgress,
  type ReplaySummary,
} from '../shared/deadletter';
import { EXIT, parseArgsOrUsage, UsageError, type CliIo } from './command';
import { explain } from './events-explain';

const USAGE = `Usage: vmss-mesh deadletter replay --container URL [options]

Reads the events Event Grid dead-lettered to a blob container, shows what vmss-mesh does with each
(as \`events explain\` does), and re-drives them through the vmssEvents function's own code path with
the app settings from the environment (see README "Settings"). Each blob whose events all went
through is moved aside to ${REPLAYED_PREFIX}<name> in the same container; a blob whose replay failed
stays for the next run. Blobs are replayed oldest first, one claim (blob lease) at a time.

Options:
  -c, --container URL      The dead-letter container: https://<account>.blob.core.windows.net/<container>
                           with a SAS (sp=rwdl) or, without one, az login / managed identity
                           (Storage Blob Data Contributor); Azurite: http://127.0.0.1:10000/devstoreaccount1/<container>
      --since TIME         Only blobs written since TIME: 2025-06-01T12:00:00Z, 2025-06-01, or 30m / 12h / 7d ago.
      --dry-run            Explain only: deliver nothing, move nothing (no app settings needed).
      --json               Print one JSON report at the end instead of a line per blob and event.
      --progress-every N   Progress line on stderr every N blobs (default 25).
  -h, --help               Show this help.

Exit codes: 0 every selected blob replayed (or explained), 1 a blob failed or storage failed,
2 usage or configuration error.
`;

/** Registered as `deadletter replay`: `args` are the flags after those two words. */
export async function run(args: string[], io: CliIo): Promise<number> {
  return replay(args, io);
}

interface ReplayFlags {
  readonly container: string;
  readonly since?: Date;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly progressEvery: number;
}

function parseFlags(args: string[]): ReplayFlags | 'help' {
  const { values } = parseArgsOrUsage({
    args,
    allowPositionals: false,
    strict: true,
    options: {
      container: { type: 'string', short: 'c' },
      since: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      'progress-every': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (values.container === undefined) throw new UsageError('--container URL is required');
  try {
    parseContainerUrl(values.container);
  } catch (error) {
    throw new UsageError(`--container: ${errorMessage(error)}`);
  }
  let since: Date | undefined;
  try {
    since = values.since === undefined ? undefined : parseSince(values.since, Date.now());
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(error.message);
    throw error;
  }
  const progressEvery = values['progress-every'] === undefined ? 25 : Number(values['progress-every']);
  if (!Number.isInteger(progressEvery) || progressEvery < 1) throw new UsageError(`--progress-every must be a positive whole number, got ${JSON.stringify(values['progress-every'])}`);
  return { container: values.container, since, dryRun: values['dry-run'] ?? false, json: values.json ?? false, progressEvery };
}

async function replay(args: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(args);
  if (flags === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  // A real replay runs the function, which needs every app setting: fail before touching a blob.
  // A dry run only explains, so it reads just the scope (and falls back to "everything").
  const config = flags.dryRun ? undefined : loadConfig(io.env);
  const scope: ScopeConfig = config
    ? config.scope
    : loadConfig({ VMSS_MESH_SUBSCRIPTIONS: io.env['VMSS_MESH_SUBSCRIPTIONS'], VMSS_MESH_RESOURCE_GROUPS: io.env['VMSS_MESH_RESOURCE_GROUPS'] }, { requireScope: false }).scope;
  const store = createContainerStore(flags.container);
  // The function runs with the app's wiring built from these settings (and `io.env` as its
  // platform environment: APPLICATIONINSIGHTS_CONNECTION_STRING), not with this process's runtime;
  // built at the first delivery, as the worker builds its own at the first invocation.
  let runtime: AppRuntime | undefined;
  const appRuntime = (settings: AppConfig) => (runtime ??= createAppRuntime(settings, io.env));
  const reports: BlobReport[] = [];
  const say = (line: string) => {
    if (!flags.json) io.stdout.write(`${line}\n`);
  };
  let summary: ReplaySummary;
  try {
    summary = await replayDeadLetters({
      store,
      scope,
      since: flags.since,
      dryRun: flags.dryRun,
      deliver: config && ((event) => deliverToVmssEvents(() => appRuntime(config), event)),
      progressEvery: flags.progressEvery,
      onListed: ({ total, selected }) => {
        io.stderr.write(`deadletter replay: ${total} dead-letter blob${total === 1 ? '' : 's'} in ${store.location}${flags.since ? `, ${selected} written since ${flags.since.toISOString()}` : ''}${flags.dryRun ? ' (dry run)' : ''}\n`);
      },
      onBlob: (report) => {
        reports.push(report);
        for (const line of blobLines(report, scope)) say(line);
      },
      onProgress: (progress) => io.stderr.write(`${progressLine(progress)}\n`),
    });
  } finally {
    await runtime?.close();
  }
  if (flags.json) {
    io.stdout.write(`${JSON.stringify({ summary, blobs: reports.map((r) => jsonBlob(r, scope)) }, null, 2)}\n`);
  } else {
    io.stdout.write(`${summaryLine(summary)}\n`);
  }
  return summary.ok ? EXIT.ok : EXIT.failure;
}

/** Required here, not imported: a dry run or `--help` loads no ARM SDK, Consul or gRPC. */
function createAppRuntime(config: AppConfig, env: CliIo['env']): AppRuntime {
  return (require('../functions/app-runtime') as typeof import('../functions/app-runtime')).createAppRuntime(config, env);
}

/**
 * The function's own code path: the `vmssEvents` handler with an InvocationContext, as the host
 * invokes it. The event comes from a blob, not from Event Grid: @azure/eventgrid's
 * EventGridDeserializer first checks it has the complete envelope every Event Grid event has; an
 * event without one (a blob edited or cut short) is not delivered and its blob stays.
 */
async function deliverToVmssEvents(runtime: () => AppRuntime, event: DeadLetteredEvent): Promise<DeliveryResult> {
  const problem = await envelopeProblem(event.event);
  if (problem !== undefined) return { ok: false, error: `${problem}; not delivered`, log: [] };
  const log: string[] = [];
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: 'vmssEvents',
    options: { trigger: { type: 'eventGridTrigger', name: 'event' } as never },
    logHandler: (level: LogLevel, ...args: unknown[]) => log.push(`${level}: ${args.map(formatLogArg).join(' ')}`),
  });
  try {
    // Inside the try: a runtime that cannot be built (a CA file gone) fails the delivery, as an invocation.
    await handleVmssEvent(runtime(), event.event, context);
    return { ok: true, log };
  } catch (error) {
    return { ok: false, error: errorMessage(error), log };
  }
}

function formatLogArg(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'object' && arg !== null && 'msg' in arg && typeof arg.msg === 'string') return arg.msg;
  return arg instanceof Error ? arg.message : JSON.stringify(arg);
}

/** `events explain`'s view of one event. */
function explained(event: EventReport, scope: ScopeConfig): Record<string, unknown> {
  if (event.outcome.kind === 'malformed') return { index: event.index, eventId: event.eventId, action: 'ignore', reason: 'malformed', detail: event.outcome.error };
  const [only] = explain({ schema: 'eventgrid', outcomes: [event.outcome] }, scope).events;
  return { ...only, index: event.index };
}

function blobLines(report: BlobReport, scope: ScopeConfig): string[] {
  const count = report.events.length > 0 ? `, ${report.events.length} event${report.events.length === 1 ? '' : 's'}` : '';
  const lines = [`${report.name} (written ${report.lastModified}): ${report.status}${count}${report.error ? ` — ${report.error}` : ''}`];
  for (const event of report.events) {
    const e = explained(event, scope);
    const what = e['action'] === 'reconcile' ? `reconcile ${String(e['scaleSet'])}${e['virtualMachine'] ? ` (VM ${String(e['virtualMachine'])})` : ''} — ${String(e['reason'])}` : `${String(e['action'])} ${String(e['reason'] ?? '')}: ${String(e['detail'] ?? '')}`;
    const delivery = event.delivery === undefined ? '' : event.delivery.ok ? ` → done${lastLog(event.delivery.log)}` : ` → FAILED: ${event.delivery.error}`;
    lines.push(`  [${event.index}] ${event.eventId || '(no id)'}: ${what} [${event.deadLetter}]${delivery}`);
  }
  return lines;
}

function lastLog(log: readonly string[]): string {
  const last = log[log.length - 1];
  return last === undefined ? '' : ` (${last})`;
}

function jsonBlob(report: BlobReport, scope: ScopeConfig) {
  return { ...report, events: report.events.map((event) => ({ deadLetter: event.deadLetter, explained: explained(event, scope), ...(event.delivery ? { delivery: event.delivery } : {}) })) };
}

function progressLine({ processed, total, counts }: ReplayProgress): string {
  const parts = (['replayed', 'explained', 'already-replayed', 'failed', 'unreadable', 'busy', 'gone'] as const).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
  return `deadletter replay: ${processed}/${total} blobs${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

function summaryLine(summary: ReplaySummary): string {
  const { counts } = summary;
  const verb = summary.dryRun ? `${counts.explained} explained (dry run, nothing delivered or moved)` : `${counts.replayed} replayed (${counts.events} events) and moved to ${REPLAYED_PREFIX}`;
  const others = (['already-replayed', 'failed', 'unreadable', 'busy', 'gone'] as const).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
  return `${summary.ok ? 'done' : 'FAILED'}: ${summary.selected} of ${summary.listed} blobs selected; ${verb}${others.length > 0 ? `; ${others.join(', ')}` : ''}`;
}
