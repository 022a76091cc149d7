import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, spawnCli, type CliRun } from '../helpers/cli-run';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'events');
const SUB = '5f8a2c3d-9b1e-4a7f-8c6d-2e0b1a9c7d34';
const setId = (rg: string, name: string) => `/subscriptions/${SUB}/resourcegroups/${rg}/providers/microsoft.compute/virtualmachinescalesets/${name}`;

/** Runs the real launcher in a child process, with a clean scope environment unless given one. */
function cli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, VMSS_MESH_SUBSCRIPTIONS: '', VMSS_MESH_RESOURCE_GROUPS: '', ...options.env };
  return spawnCli(args, { env, stdin: options.stdin ?? '' });
}

interface Report {
  input: string;
  scope: { subscriptions: string[] | 'all'; resourceGroups: string[] | 'all'; tags: string };
  events: { index: number; eventId: string; action: string; scaleSet?: string; virtualMachine?: string; instanceId?: string; reason: string; detail?: string; validationCode?: string }[];
  reconciles: { scaleSet: string; virtualMachine?: string; eventIds: string[]; instanceIds: string[] }[];
  summary: { events: number; hints: number; validations: number; ignored: Record<string, number> };
}

const tmp = mkdtempSync(join(tmpdir(), 'vmss-mesh-explain-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('vmss-mesh events explain', { concurrency: true }, () => {
  test('explains an Event Grid batch from a file: per event, then one reconcile per scale set', async () => {
    const run = await cli(['events', 'explain', join(FIXTURES, 'eventgrid-scale-out-batch.json')]);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.input, 'eventgrid');
    assert.deepEqual(report.scope, { subscriptions: 'all', resourceGroups: 'all', tags: 'resolved at reconcile time' });
    assert.deepEqual(
      report.events.map((e) => [e.index, e.action, e.action === 'reconcile' ? e.scaleSet : e.reason]),
      [
        [0, 'reconcile', setId('rg-mesh-prod', 'vmss-web')],
        [1, 'reconcile', setId('rg-mesh-prod', 'vmss-web')],
        [2, 'ignore', 'not-vmss'],
        [3, 'ignore', 'failed-operation'],
        [4, 'ignore', 'read-only-operation'],
        [5, 'reconcile', 'resolved at reconcile time'],
        [6, 'reconcile', setId('rg-other', 'vmss-batch')],
      ],
    );
    assert.equal(report.events[1]?.instanceId, '7');
    assert.equal(report.events[5]?.virtualMachine, `/subscriptions/${SUB}/resourcegroups/rg-mesh-prod/providers/microsoft.compute/virtualmachines/vmss-api_4f2a9c1e`);
    assert.deepEqual(report.reconciles, [
      { scaleSet: setId('rg-mesh-prod', 'vmss-web'), eventIds: ['4db48cba-50a2-455a-93b4-de41a3b5b7f6', '8f2b1c7a-3e4d-4a5b-9c6d-7e8f9a0b1c2d'], instanceIds: ['7'] },
      {
        scaleSet: 'resolved at reconcile time',
        virtualMachine: `/subscriptions/${SUB}/resourcegroups/rg-mesh-prod/providers/microsoft.compute/virtualmachines/vmss-api_4f2a9c1e`,
        eventIds: ['e5f7a9b1-3c4d-4e6f-8a9b-0c1d2e3f4a5b'],
        instanceIds: ['vmss-api_4f2a9c1e'],
      },
      { scaleSet: setId('rg-other', 'vmss-batch'), eventIds: ['0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a'], instanceIds: [] },
    ]);
    assert.deepEqual(report.summary, { events: 7, hints: 4, validations: 0, ignored: { 'not-vmss': 1, 'failed-operation': 1, 'read-only-operation': 1 } });
  });

  test('reads CloudEvents from stdin (-) and applies repeatable scope flags', async () => {
    const stdin = readFileSync(join(FIXTURES, 'cloudevents-instance-actions.json'), 'utf8');
    const run = await cli(['events', 'explain', '-', '--subscription', SUB.toUpperCase(), '-g', 'RG-Other', '-g', 'rg-x'], { stdin });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.input, 'cloudevents');
    assert.deepEqual(report.scope, { subscriptions: [SUB], resourceGroups: ['rg-other', 'rg-x'], tags: 'resolved at reconcile time' });
    assert.deepEqual(
      report.events.map((e) => e.reason),
      ['out-of-scope-resource-group', 'out-of-scope-resource-group', 'out-of-scope-resource-group'],
    );
    assert.deepEqual(report.reconciles, []);
  });

  test('without flags the scope comes from VMSS_MESH_SUBSCRIPTIONS / VMSS_MESH_RESOURCE_GROUPS', async () => {
    const run = await cli(['events', 'explain', join(FIXTURES, 'eventgrid-scale-out-batch.json')], {
      env: { VMSS_MESH_SUBSCRIPTIONS: SUB, VMSS_MESH_RESOURCE_GROUPS: 'rg-other' },
    });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assert.deepEqual(report.scope.resourceGroups, ['rg-other']);
    assert.deepEqual(
      report.reconciles.map((r) => r.scaleSet),
      [setId('rg-other', 'vmss-batch')],
    );
    const flagged = await cli(['events', 'explain', join(FIXTURES, 'eventgrid-scale-out-batch.json'), '-s', '00000000-0000-0000-0000-000000000001'], {
      env: { VMSS_MESH_SUBSCRIPTIONS: SUB },
    });
    assert.deepEqual(
      (JSON.parse(flagged.stdout) as Report).reconciles,
      [],
      'a flag replaces the setting',
    );
  });

  test('explains autoscale webhook bodies and the validation handshake', async () => {
    const [vmss, plan, validation] = await Promise.all([
      cli(['events', 'explain', join(FIXTURES, 'autoscale-vmss-scale-out.json')]),
      cli(['events', 'explain', join(FIXTURES, 'autoscale-app-service-plan.json')]),
      cli(['events', 'explain', join(FIXTURES, 'eventgrid-subscription-validation.json')]),
    ]);
    const vmssReport = JSON.parse(vmss.stdout) as Report;
    assert.equal(vmssReport.input, 'autoscale-webhook');
    assert.deepEqual(
      vmssReport.events.map((e) => [e.action, e.scaleSet, e.reason]),
      [['reconcile', setId('rg-mesh-prod', 'vmss-web'), 'autoscale:scale-out']],
    );
    const planReport = JSON.parse(plan.stdout) as Report;
    assert.deepEqual(
      planReport.events.map((e) => [e.action, e.reason]),
      [['ignore', 'not-a-scale-set-autoscale']],
    );
    const validationReport = JSON.parse(validation.stdout) as Report;
    assert.deepEqual(
      validationReport.events.map((e) => [e.action, e.validationCode]),
      [['answer-validation', '512d38b6-c7b8-40c8-89fe-f46f9e9622b6']],
    );
  });

  test('malformed input exits 1 with the reason on stderr and nothing on stdout', async () => {
    const notJson = join(tmp, 'not-json.json');
    writeFileSync(notJson, '[{"id": ');
    const badField = join(tmp, 'bad-field.json');
    writeFileSync(
      badField,
      JSON.stringify([{ id: 'e1', eventType: 'Microsoft.Resources.ResourceWriteSuccess', eventTime: '2024-05-01T10:00:00Z', data: { resourceUri: 42, operationName: 'x' } }]),
    );
    const [a, b, c] = await Promise.all([
      cli(['events', 'explain', notJson]),
      cli(['events', 'explain', badField]),
      cli(['events', 'explain', join(tmp, 'missing.json')]),
    ]);
    assert.equal(a.code, 1);
    assert.equal(a.stdout, '');
    assert.match(a.stderr, /^vmss-mesh events explain: invalid input: not JSON: /);
    assert.equal(b.code, 1);
    assert.equal(b.stdout, '');
    assert.equal(b.stderr, 'vmss-mesh events explain: invalid input: [0].data.resourceUri: expected a string, got number 42\n');
    assert.equal(c.code, 1);
    assert.match(c.stderr, /^vmss-mesh events explain: invalid input: cannot read .*missing\.json: ENOENT/);
  });

  test('usage errors exit 2', async () => {
    const fixture = join(FIXTURES, 'autoscale-vmss-scale-out.json');
    const [unknownFlag, twoFiles, badSub, badRg, noCommand, unknownCommand, group] = await Promise.all([
      cli(['events', 'explain', '--bogus', fixture]),
      cli(['events', 'explain', fixture, fixture]),
      cli(['events', 'explain', fixture, '--subscription', 'not a sub']),
      cli(['events', 'explain', fixture, '--resource-group', 'rg.']),
      cli([]),
      cli(['frobnicate']),
      cli(['events']),
    ]);
    for (const run of [unknownFlag, twoFiles, badSub, badRg, noCommand, unknownCommand, group]) assert.equal(run.code, 2, run.stderr);
    assert.match(unknownFlag.stderr, /Unknown option '--bogus'[\s\S]*Run `vmss-mesh events explain --help` for usage\./);
    assert.match(twoFiles.stderr, /expected at most one FILE, got 2/);
    assert.match(badSub.stderr, /--subscription: not a subscription ID: "not a sub"/);
    assert.match(badRg.stderr, /--resource-group: not a resource group name: "rg\."/);
    assert.match(noCommand.stdout, /^Usage: vmss-mesh <command> \[options\]/);
    assert.match(unknownCommand.stderr, /^vmss-mesh: unknown command "frobnicate"/);
    assert.match(group.stderr, /unknown or missing subcommand of "events"[\s\S]*events explain/);
  });

  test('--help exits 0 with usage', async () => {
    const [sub, top] = await Promise.all([cli(['events', 'explain', '--help']), cli(['--help'])]);
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /^Usage: vmss-mesh events explain \[FILE\|-\] \[options\]/);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /events explain +Explain what the app would do/);
  });
});
