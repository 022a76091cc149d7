/**
 * `vmss-mesh events explain [FILE|-]`: reads an Event Grid delivery (Event Grid or CloudEvents
 * schema, auto-detected) or an autoscale webhook body and prints, as JSON, what the app would do
 * with each event — which scale set it would reconcile, or why it ignores the event — using the
 * same parsers as the Functions app. Offline: nothing is contacted.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig, type ScopeConfig } from '../shared/config';
import { InvalidInputError } from '../shared/errors';
import { groupDeliveryHints, hintsOf, parseInput, summariseOutcomes, type EventOutcome, type ParsedDelivery } from '../shared/events';
import { isResourceGroupName, isSubscriptionId } from '../shared/resource-id';
import { EXIT, parseArgsOrUsage, UsageError, type CliIo } from './command';

const USAGE = `Usage: vmss-mesh events explain [FILE|-] [options]

Reads an Event Grid delivery (Event Grid or CloudEvents schema) or an Azure Monitor autoscale
webhook body from FILE, or from stdin when FILE is - or absent, and prints what vmss-mesh would do
with each event as JSON.

Options:
  -s, --subscription ID      Subscription in scope (repeatable). Default: VMSS_MESH_SUBSCRIPTIONS,
                             or every subscription when that is empty too.
  -g, --resource-group NAME  Resource group in scope (repeatable). Default: VMSS_MESH_RESOURCE_GROUPS,
                             or every resource group when that is empty too.
  -h, --help                 Show this help.

Tag selection is checked against ARM at reconcile time, so it is not applied here.
Exit codes: 0 explained, 1 the input is malformed or unreadable, 2 usage error.
`;

const RESOLVED_LATER = 'resolved at reconcile time';

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(args);
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one FILE, got ${positionals.length}`);
  const scope = scopeFrom(values, io);
  const text = await readInput(positionals[0], io);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const report = explain(parseInput(body, { scope }), scope);
  io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return EXIT.ok;
}

function parseOptions(args: string[]) {
  return parseArgsOrUsage({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      subscription: { type: 'string', short: 's', multiple: true },
      'resource-group': { type: 'string', short: 'g', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** Flags win per list; otherwise the app's own settings; empty means everything. */
function scopeFrom(values: { subscription?: string[]; 'resource-group'?: string[] }, io: CliIo): ScopeConfig {
  for (const id of values.subscription ?? []) {
    if (!isSubscriptionId(id)) throw new UsageError(`--subscription: not a subscription ID: ${JSON.stringify(id)}`);
  }
  for (const name of values['resource-group'] ?? []) {
    if (!isResourceGroupName(name)) throw new UsageError(`--resource-group: not a resource group name: ${JSON.stringify(name)}`);
  }
  // Only the scope settings are passed: an offline tool must not fail on, say, a Consul address.
  const fromEnv = loadConfig(
    { VMSS_MESH_SUBSCRIPTIONS: io.env['VMSS_MESH_SUBSCRIPTIONS'], VMSS_MESH_RESOURCE_GROUPS: io.env['VMSS_MESH_RESOURCE_GROUPS'] },
    { requireScope: false },
  ).scope;
  const lower = (list: string[] | undefined) => list?.map((item) => item.toLowerCase());
  return {
    subscriptions: lower(values.subscription) ?? fromEnv.subscriptions,
    resourceGroups: lower(values['resource-group']) ?? fromEnv.resourceGroups,
  };
}

async function readInput(file: string | undefined, io: CliIo): Promise<string> {
  if (file !== undefined && file !== '-') {
    try {
      return await readFile(resolve(io.cwd, file), 'utf8');
    } catch (error) {
      throw new InvalidInputError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (file === undefined && io.stdin.isTTY) throw new UsageError('no input: give a FILE, or pipe a delivery into stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

type ExplainedEvent =
  | { index: number; eventId: string; action: 'reconcile'; scaleSet: string; virtualMachine?: string; instanceId?: string; reason: string; eventTime: string }
  | { index: number; eventId: string; action: 'ignore'; reason: string; detail: string }
  | { index: number; eventId: string; action: 'answer-validation'; validationCode: string };

/** The report `events explain` prints; pure, so it can be tested without a process. */
export function explain(parsed: ParsedDelivery, scope: ScopeConfig) {
  return {
    input: parsed.schema,
    scope: {
      subscriptions: scope.subscriptions.length > 0 ? scope.subscriptions : 'all',
      resourceGroups: scope.resourceGroups.length > 0 ? scope.resourceGroups : 'all',
      tags: RESOLVED_LATER,
    },
    events: parsed.outcomes.map(explainOutcome),
    reconciles: groupDeliveryHints(hintsOf(parsed.outcomes)).map((group) => ({
      scaleSet: group.target.kind === 'scale-set' ? group.target.ref.id : RESOLVED_LATER,
      ...(group.target.kind === 'virtual-machine' ? { virtualMachine: group.target.vmResourceId } : {}),
      eventIds: group.eventIds,
      instanceIds: group.instanceIds,
    })),
    summary: summariseOutcomes(parsed.outcomes),
  };
}

function explainOutcome(outcome: EventOutcome, index: number): ExplainedEvent {
  switch (outcome.kind) {
    case 'hint': {
      const { hint } = outcome;
      const { target } = hint;
      return {
        index,
        eventId: hint.eventId,
        action: 'reconcile',
        scaleSet: target.kind === 'scale-set' ? target.ref.id : RESOLVED_LATER,
        ...(target.kind === 'virtual-machine' ? { virtualMachine: target.vmResourceId } : {}),
        ...(hint.instanceId === undefined ? {} : { instanceId: hint.instanceId }),
        reason: hint.reason,
        eventTime: hint.eventTime,
      };
    }
    case 'ignored':
      return { index, eventId: outcome.eventId, action: 'ignore', reason: outcome.reason, detail: outcome.detail };
    case 'validation':
      return { index, eventId: outcome.eventId, action: 'answer-validation', validationCode: outcome.validationCode };
  }
}
