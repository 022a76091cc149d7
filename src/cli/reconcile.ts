/**
 * `vmss-mesh reconcile (SCALE_SET_ID ... | --all) [--dry-run] [--json] [--settings FILE]`: the
 * reconcile the Functions app runs, from a terminal, with the app's settings. The app's own wiring
 * builds it (functions/app-runtime.ts), so ARM, Consul, the planner and the relay push are the
 * app's. `--dry-run` is the reconcile's plan-only mode (ReconcileDeps.planOnly): the same reads and
 * the same plan, ending before the first write — no claim, no marker, no tombstone, no push, no KV
 * cleanup.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../shared/config';
import { ConfigError, errorMessage, InvalidInputError, shouldRetryTrigger } from '../shared/errors';
import { scopeMatcher } from '../shared/events/scope';
import type { ScaleSetRef } from '../shared/model';
import { parseResourceId, scaleSetRefFromId } from '../shared/resource-id';
import { parseArgsOrUsage, UsageError, type CliIo } from './command';
import { failedResult, formatText, RECONCILE_EXIT, reconcileOutput, scaleSetResult, type ScaleSetResult } from './reconcile-report';

const USAGE = `Usage: vmss-mesh reconcile (SCALE_SET_ID ... | --all) [options]

Runs the reconcile the Functions app runs (ARM listed, Consul compared, the plan applied, changed
services pushed to the relays) from a terminal, with the app's settings from the environment (see
README "Settings"; VMSS_MESH_SUBSCRIPTIONS is required) or --settings.

  SCALE_SET_ID   /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/
                 virtualMachineScaleSets/<name> (any case); several may be given, each must be in
                 the app's scope (VMSS_MESH_SUBSCRIPTIONS, VMSS_MESH_RESOURCE_GROUPS). One that
                 ARM does not have and Consul holds nothing for is reported not-in-mesh (exit 0).
  --all          What the timer sweeps: every mesh scale set in scope and every scale set Consul
                 holds our entries for; a real run ends with the timer's KV cleanup.

Options:
  -n, --dry-run        Print the plan — register / update / deregister / skip, each with its reason —
                       and write nothing at all: no claim or marker in Consul, no catalog or KV write,
                       no relay push, no KV cleanup. ARM and Consul are read as in a real run; without
                       a claim, a reconcile running meanwhile may change Consul after the plan.
      --json           Print one JSON document instead of a list: dryRun, scope, exitCode, changes,
                       totals, scaleSets[] {scaleSetId, outcome (planned | applied | unchanged |
                       unknown | not-in-mesh | superseded | failed), detail?, counts, items[]}, and
                       with --all skippedScaleSets (and kvCleanup after a real run). An item is
                       {action, node, code, reason, instanceResourceId?, address?, services?,
                       changes?}; code is absent-from-consul (register), changed (update), gone or
                       out-of-scope (deregister), or the planner's skip code (tombstoned, deleting,
                       removal-cap, …).
      --settings FILE  Read app settings from a local.settings.json (its "Values"); a setting the
                       environment leaves unset or empty is taken from the file. One the environment
                       sets to a different value refuses a real run (exit 2, naming the settings:
                       unset them, or pass --dry-run), so a shell's settings for another Consul or
                       ARM cannot mix with the file's; a dry run uses the environment's value and
                       names each such setting on stderr. Equal values are fine.
  -h, --help           Show this help.

Exit codes:
  0  nothing to change (dry run) / nothing changed
  1  a scale set could not be reconciled (ARM or Consul unreachable or refusing, listing unknown)
  2  usage or configuration error (bad flag, not a scale set ID, out of scope, bad setting)
  3  changes planned (dry run) / changes applied
`;

interface ReconcileFlags {
  readonly refs: readonly ScaleSetRef[];
  readonly all: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly settings?: string;
}

export async function run(args: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(args);
  if (flags === 'help') {
    io.stdout.write(USAGE);
    return RECONCILE_EXIT.nothingToChange;
  }
  // Required here, not imported: `--help` and bad input answer without loading the ARM SDKs,
  // Consul and gRPC (the bundle keeps each required module lazy, see main.ts).
  const { loadConfig } = require('../shared/config') as typeof import('../shared/config');
  const config = loadConfig(flags.settings ? settingsEnv(io, path.resolve(io.cwd, flags.settings), flags.dryRun) : io.env);
  const scope = scopeMatcher(config.scope);
  for (const ref of flags.refs) {
    const outside = scope.check(ref.subscriptionId, ref.resourceGroup);
    if (outside) throw new UsageError(`${ref.id} is outside the app's scope (${scope.describe}): the app never reconciles it from an event`);
  }

  const { createAppRuntime } = require('../functions/app-runtime') as typeof import('../functions/app-runtime');
  const { reconcileScaleSet } = require('../shared/reconcile/reconcile-scale-set') as typeof import('../shared/reconcile/reconcile-scale-set');
  const { reconcileEverything } = require('../shared/reconcile/reconcile-run') as typeof import('../shared/reconcile/reconcile-run');
  // No platform environment: the terminal's runs are not the app's, so they export no telemetry
  // (APPLICATIONINSIGHTS_CONNECTION_STRING would start Azure Monitor's exporter).
  const runtime = createAppRuntime(config, {});
  const source = flags.dryRun ? 'cli dry run' : 'cli';
  try {
    const deps = { ...runtime.reconciler.deps, planOnly: flags.dryRun, reportPlan: true };
    let output;
    if (flags.all) {
      const sweep = await reconcileEverything(deps, source);
      output = reconcileOutput(flags, [...sweep.reports.map(scaleSetResult), ...sweep.failures.map(failedResult)], sweep);
    } else {
      const results: ScaleSetResult[] = [];
      // One after another: a handful of IDs, and the output's order does not depend on timing.
      for (const ref of flags.refs) {
        try {
          results.push(scaleSetResult(await reconcileScaleSet(deps, ref, source)));
        } catch (error) {
          results.push(failedResult({ scaleSetId: ref.id, error: errorMessage(error), retryTrigger: shouldRetryTrigger(error) }));
        }
      }
      output = reconcileOutput(flags, results);
    }
    io.stdout.write(flags.json ? `${JSON.stringify(output, null, 2)}\n` : formatText(output));
    return output.exitCode;
  } finally {
    runtime.close();
  }
}

function parseFlags(args: string[]): ReconcileFlags | 'help' {
  const { values, positionals } = parseArgsOrUsage({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      all: { type: 'boolean' },
      'dry-run': { type: 'boolean', short: 'n' },
      json: { type: 'boolean' },
      settings: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const all = values.all ?? false;
  if (all && positionals.length > 0) throw new UsageError('give scale set resource IDs or --all, not both');
  if (!all && positionals.length === 0) throw new UsageError('name the scale sets to reconcile (their resource IDs), or --all for every one in scope');
  const refs = [...new Map(positionals.map((raw) => scaleSetRefOf(raw)).map((ref) => [ref.id, ref])).values()];
  return { refs, all, dryRun: values['dry-run'] ?? false, json: values.json ?? false, ...(values.settings !== undefined ? { settings: values.settings } : {}) };
}

const SCALE_SET_ID_SHAPE = '/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/virtualMachineScaleSets/<name>';

/** A scale set's own resource ID; an instance's ID is refused with its scale set's ID in the message. */
function scaleSetRefOf(raw: string): ScaleSetRef {
  let ref: ScaleSetRef;
  try {
    ref = scaleSetRefFromId(raw);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(`not a scale set resource ID: ${JSON.stringify(raw)} (${error.message}); expected ${SCALE_SET_ID_SHAPE}`);
    throw error;
  }
  if (parseResourceId(raw).id !== ref.id) throw new UsageError(`not a scale set resource ID: ${JSON.stringify(raw)} names something inside scale set ${ref.id}; pass the scale set's ID`);
  return ref;
}

/**
 * The environment with a local.settings.json's `Values` filled in where the environment leaves a
 * name unset or empty. A setting the environment sets to another value than the file's refuses a
 * real run: the file describes one deployment (the sandbox's, say) and the shell may hold another's
 * (production's CONSUL_HTTP_ADDR), and a sweep over a mix — ARM of one, Consul of the other —
 * deregisters every scale set the other Consul holds that this ARM does not know. A dry run writes
 * nothing, so it goes on with the environment's value (as func start does) and says so on stderr.
 */
function settingsEnv(io: Pick<CliIo, 'env' | 'stderr'>, file: string, dryRun: boolean): Env {
  const { merged, overridden } = withSettingsFile(io.env, file);
  if (overridden.length > 0 && !dryRun) {
    throw new ConfigError(
      `${overridden.join(', ')} ${overridden.length === 1 ? 'is' : 'are'} set in the environment to another value than in ${path.basename(file)}; ` +
        `a real run with --settings refuses to mix the two (ARM or Consul of one deployment with the other's): unset ${overridden.length === 1 ? 'it' : 'them'} (or make ${overridden.length === 1 ? 'it' : 'them'} equal), or pass --dry-run`,
    );
  }
  for (const name of overridden) io.stderr.write(`vmss-mesh reconcile: ${name} is taken from the environment, not from ${path.basename(file)}\n`);
  return merged;
}

/** The merge itself, and the names whose environment value differs from (and wins over) the file's. */
function withSettingsFile(env: Env, file: string): { readonly merged: Env; readonly overridden: readonly string[] } {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--settings ${file}: ${errorMessage(error)}`);
  }
  const values = typeof document === 'object' && document !== null ? (document as { Values?: unknown }).Values : undefined;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new UsageError(`--settings ${file}: expected a local.settings.json with a "Values" object`);
  const merged: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new UsageError(`--settings ${file}: Values.${name} must be a string, got ${value === null ? 'null' : typeof value}`);
    }
    merged[name] = String(value);
  }
  const overridden: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (merged[name] !== undefined && merged[name] !== value) overridden.push(name);
    merged[name] = value;
  }
  return { merged, overridden: overridden.sort() };
}
