/**
 * `vmss-mesh deadletter replay` against the real Azurite blob service (npm, started here as a
 * child process on a free loopback port with a temp folder) and the local world (ARM emulator +
 * Consul double with the app's settings), so replayed events really reconcile.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ContainerClient, ContainerSASPermissions, StorageSharedKeyCredential } from '@azure/storage-blob';
import { REPLAYED_SOURCE_ETAG_METADATA } from '../../src/shared/deadletter/container-store';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION, type LocalWorld } from '../../src/sandbox/local-world';
import { buildDeliveries, type ArmOperation } from '../../src/sandbox/event-grid';
import { startAzurite, type Azurite } from '../../src/sandbox/azurite';
import { runCliInProcess } from '../helpers/cli-run';

const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const credential = new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY);

let azurite: Azurite;
before(async () => {
  const started = await startAzurite();
  if ('unavailable' in started) throw new Error(started.unavailable);
  azurite = started;
});
after(async () => {
  await azurite?.close();
});

/** A fresh container per test (its own state); returns the client and a SAS URL for the CLI. */
async function newContainer(): Promise<{ container: ContainerClient; sasUrl: string; plainUrl: string }> {
  const plainUrl = `${azurite.blobUrl}/${DEV_ACCOUNT}/dl-${randomUUID().slice(0, 8)}`;
  const container = new ContainerClient(plainUrl, credential);
  await container.create();
  const sasUrl = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse('rwdl'), expiresOn: new Date(Date.now() + 3_600_000) });
  return { container, sasUrl, plainUrl };
}

/** What Event Grid adds to each event it dead-letters. */
const deadLetterRecord = { deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 30, lastDeliveryOutcome: 'TimedOut', lastHttpStatusCode: 408, publishTime: '2025-06-01T12:00:00.000Z', lastDeliveryAttemptTime: '2025-06-02T12:00:00.000Z' };

/** Event Grid's layout: `<SUBSCRIPTION>/<yyyy>/<m>/<d>/<h>/<guid>.json`, a JSON array of events. */
async function putDeadLetterBlob(container: ContainerClient, events: readonly object[], name = `VMSS-EVENTS-SCALE-SETS/2025/6/2/12/${randomUUID()}.json`): Promise<string> {
  const body = JSON.stringify(events.map((event) => ({ ...event, ...deadLetterRecord })));
  await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
  return name;
}

async function blobNames(container: ContainerClient): Promise<string[]> {
  const names: string[] = [];
  for await (const item of container.listBlobsFlat()) names.push(item.name);
  return names.sort();
}

/** `env`: the settings the command is given (a world's, or none); this process's are not the app's. */
function cli(args: string[], env: Readonly<Record<string, string>>) {
  return runCliInProcess(['deadletter', 'replay', ...args], { env: { ...env }, cwd: process.cwd() });
}

const web = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web' };

/** A mesh scale set scaled out in ARM, its events collected but not delivered: they will be dead letters. */
function scaleOutUndelivered(world: LocalWorld, capacity: number): ArmOperation[] {
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...web, zones: ['1', '2'], capacity: 0, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  world.arm.world.scale(web, capacity);
  return [...world.pendingOperations];
}

async function registeredAddresses(world: LocalWorld): Promise<string[]> {
  const response = await fetch(`${world.consul.url}/v1/health/service/web`);
  const entries = (await response.json()) as Array<{ Node: { Address: string } }>;
  return entries.map((e) => e.Node.Address).sort();
}

const armAddresses = (world: LocalWorld) =>
  world.arm.world
    .listInstances(web)
    .map((i) => i.nics.find((n) => n.primary)?.ipConfigurations.find((c) => c.primary)?.privateIp ?? '')
    .sort();

describe('deadletter replay against Azurite and the local world', () => {
  test('replays through vmssEvents, reconciles, moves each blob aside, and never replays it twice', async (t) => {
    const world = await startLocalWorld({ lifecycle: { createDelayMs: 0 } });
    t.after(() => world.close());
    const { container, sasUrl } = await newContainer();
    const operations = scaleOutUndelivered(world, 2);
    assert.ok(operations.length > 0);
    const [eventGrid] = buildDeliveries(operations, { schema: 'eventgrid', maxEventsPerBatch: 100 });
    const [cloudEvents] = buildDeliveries(operations, { schema: 'cloudevents', maxEventsPerBatch: 100, seed: 2 });
    assert.ok(eventGrid && cloudEvents);
    const first = await putDeadLetterBlob(container, eventGrid.events);
    const second = await putDeadLetterBlob(container, cloudEvents.events);
    assert.deepEqual(await registeredAddresses(world), []);

    const run = await cli(['--container', sasUrl], world.settings);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.deepEqual(await registeredAddresses(world), armAddresses(world));
    assert.equal(armAddresses(world).length, 2);
    assert.deepEqual(await blobNames(container), [`replayed/${first}`, `replayed/${second}`].sort());
    assert.match(run.stdout, new RegExp(`${first.replace(/[/.]/g, '\\$&')} \\(written [^)]+\\): replayed, ${eventGrid.events.length} event`));
    assert.match(run.stdout, /reconcile \/subscriptions\/00000000-0000-0000-0000-00000000a001\/resourcegroups\/mesh-rg\/providers\/microsoft\.compute\/virtualmachinescalesets\/web — event:Microsoft\.Compute\/virtualMachineScaleSets\/write \[MaxDeliveryAttemptsExceeded after 30 attempts \(TimedOut, HTTP 408\)\] → done/);
    assert.match(run.stdout, /^done: 2 of 2 blobs selected; 2 replayed \(\d+ events\) and moved to replayed\/$/m);
    assert.match(run.stderr, /^deadletter replay: 2 dead-letter blobs in http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/dl-[0-9a-f]+$/m);
    assert.doesNotMatch(run.stdout + run.stderr, /sig=/, 'the SAS never reaches the output');

    // The moved copy is the original, byte for byte.
    const original = JSON.stringify(eventGrid.events.map((event) => ({ ...event, ...deadLetterRecord })));
    assert.equal((await container.getBlobClient(`replayed/${first}`).downloadToBuffer()).toString(), original);

    const again = await cli(['--container', sasUrl], world.settings);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^done: 0 of 0 blobs selected; 0 replayed \(0 events\)/m);
  });

  test('a failed replay leaves the blob in place, unleased, and exits 1', async (t) => {
    // Consul refuses connections: every reconcile fails transiently, as when Consul is down.
    const world = await startLocalWorld({ lifecycle: { createDelayMs: 0 }, settings: { CONSUL_HTTP_ADDR: 'http://127.0.0.1:1' } });
    t.after(() => world.close());
    const { container, sasUrl } = await newContainer();
    const [delivery] = buildDeliveries(scaleOutUndelivered(world, 1), { maxEventsPerBatch: 100 });
    assert.ok(delivery);
    const name = await putDeadLetterBlob(container, delivery.events);

    const run = await cli(['--container', sasUrl], world.settings);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /: failed, \d+ events? — \d+ of \d+ events? failed; the blob stays for the next run/);
    assert.match(run.stdout, /→ FAILED: /);
    assert.match(run.stdout, /^FAILED: 1 of 1 blobs selected; 0 replayed \(0 events\) and moved to replayed\/; 1 failed$/m);
    assert.deepEqual(await blobNames(container), [name]);
    const properties = await container.getBlobClient(name).getProperties();
    assert.equal(properties.leaseState, 'available', 'the claim was released for the next run');
  });

  test('a blob another run holds is left alone; an interrupted move aside is finished without replaying', async (t) => {
    const world = await startLocalWorld({ lifecycle: { createDelayMs: 0 } });
    t.after(() => world.close());
    const { container, sasUrl } = await newContainer();
    const [delivery] = buildDeliveries(scaleOutUndelivered(world, 1), { maxEventsPerBatch: 100 });
    assert.ok(delivery);
    const held = await putDeadLetterBlob(container, delivery.events);
    const interrupted = await putDeadLetterBlob(container, delivery.events);
    const lease = container.getBlobClient(held).getBlobLeaseClient();
    await lease.acquireLease(60);
    t.after(() => lease.releaseLease().catch(() => undefined));
    // What a run that stopped between writing the replayed copy and removing the original leaves.
    const { etag } = await container.getBlobClient(interrupted).getProperties();
    await container.getBlockBlobClient(`replayed/${interrupted}`).upload('[]', 2, { metadata: { [REPLAYED_SOURCE_ETAG_METADATA]: etag ?? '' } });

    const run = await cli(['--container', sasUrl], world.settings);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, new RegExp(`${held.replace(/[/.]/g, '\\$&')} .*: busy`));
    assert.match(run.stdout, new RegExp(`${interrupted.replace(/[/.]/g, '\\$&')} .*: already-replayed`));
    assert.deepEqual(await blobNames(container), [held, `replayed/${interrupted}`].sort());
    assert.deepEqual(await registeredAddresses(world), [], 'nothing was replayed');
  });

  test('--dry-run explains as events explain does and touches nothing; unreadable blobs fail the run', async () => {
    const { container, plainUrl } = await newContainer();
    const operations: ArmOperation[] = [
      {
        operationName: 'Microsoft.Compute/virtualMachineScaleSets/write',
        resourceUri: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/web`,
        subscriptionId: SANDBOX_SUBSCRIPTION,
        resourceGroup: SANDBOX_RESOURCE_GROUP,
        status: 'Succeeded',
        correlationId: randomUUID(),
        eventTime: '2025-06-01T12:00:00.000Z',
      },
      {
        operationName: 'Microsoft.Storage/storageAccounts/write',
        resourceUri: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/logs`,
        subscriptionId: SANDBOX_SUBSCRIPTION,
        resourceGroup: SANDBOX_RESOURCE_GROUP,
        status: 'Succeeded',
        correlationId: randomUUID(),
        eventTime: '2025-06-01T12:00:01.000Z',
      },
    ];
    const [delivery] = buildDeliveries(operations, { maxEventsPerBatch: 10 });
    assert.ok(delivery);
    const good = await putDeadLetterBlob(container, delivery.events);
    const bad = 'VMSS-EVENTS-SCALE-SETS/2025/6/2/13/not-json.json';
    await container.getBlockBlobClient(bad).upload('{oops', 5);

    // No app settings at all: a dry run needs none. The plain Azurite URL uses the dev account key.
    const run = await cli(['--container', plainUrl, '--dry-run', '--json'], {});
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as {
      summary: { dryRun: boolean; listed: number; counts: Record<string, number>; ok: boolean };
      blobs: Array<{ name: string; status: string; error?: string; events: Array<{ deadLetter: string; explained: Record<string, unknown> }> }>;
    };
    assert.equal(report.summary.dryRun, true);
    assert.equal(report.summary.ok, false);
    assert.equal(report.summary.counts['explained'], 1);
    assert.equal(report.summary.counts['unreadable'], 1);
    const explainedBlob = report.blobs.find((b) => b.name === good);
    assert.deepEqual(
      explainedBlob?.events.map((e) => [e.explained['action'], e.explained['reason']]),
      [
        ['reconcile', 'event:Microsoft.Compute/virtualMachineScaleSets/write'],
        ['ignore', 'not-vmss'],
      ],
    );
    assert.equal(explainedBlob?.events[0]?.explained['scaleSet'], `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourcegroups/mesh-rg/providers/microsoft.compute/virtualmachinescalesets/web`);
    assert.equal(explainedBlob?.events[0]?.deadLetter, 'MaxDeliveryAttemptsExceeded after 30 attempts (TimedOut, HTTP 408)');
    assert.match(report.blobs.find((b) => b.name === bad)?.error ?? '', /^not a dead-letter blob: not JSON: /);
    assert.deepEqual(await blobNames(container), [bad, good].sort(), 'a dry run moves nothing');
  });

  test('long runs show progress on stderr; --since selects by write time', async () => {
    const { container, sasUrl } = await newContainer();
    const [delivery] = buildDeliveries(
      [
        {
          operationName: 'Microsoft.Compute/virtualMachineScaleSets/restart/action',
          resourceUri: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/web`,
          subscriptionId: SANDBOX_SUBSCRIPTION,
          resourceGroup: SANDBOX_RESOURCE_GROUP,
          status: 'Succeeded',
          correlationId: randomUUID(),
          eventTime: '2025-06-01T12:00:00.000Z',
        },
      ],
      {},
    );
    assert.ok(delivery);
    await Promise.all(Array.from({ length: 23 }, () => putDeadLetterBlob(container, delivery.events)));

    const run = await cli(['--container', sasUrl, '--dry-run', '--progress-every', '10', '--since', '1h'], {});
    assert.equal(run.code, 0, run.stderr);
    const progress = run.stderr.split('\n').filter((line) => line.startsWith('deadletter replay: ') && line.includes('/23 blobs'));
    assert.deepEqual(progress, ['deadletter replay: 10/23 blobs (10 explained)', 'deadletter replay: 20/23 blobs (20 explained)', 'deadletter replay: 23/23 blobs (23 explained)']);
    assert.match(run.stdout, /^done: 23 of 23 blobs selected; 23 explained \(dry run, nothing delivered or moved\)$/m);

    const future = await cli(['--container', sasUrl, '--dry-run', '--since', new Date(Date.now() + 3_600_000).toISOString()], {});
    assert.equal(future.code, 0, future.stderr);
    assert.match(future.stderr, /23 dead-letter blobs in .*, 0 written since /);
    assert.match(future.stdout, /^done: 0 of 23 blobs selected/m);
  });

  test('storage errors are clear and never show the SAS', async () => {
    const { container, plainUrl } = await newContainer();
    const missing = await cli(['--container', plainUrl.replace(/\/dl-[0-9a-f]+$/, '/no-such-container'), '--dry-run'], {});
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^vmss-mesh deadletter replay: error: container not found trying to list the blobs of http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/no-such-container$/m);

    // A SAS that may read but not list: Azure (and Azurite) answer 403.
    const readOnly = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3_600_000) });
    const denied = await cli(['--container', readOnly, '--dry-run'], {});
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^vmss-mesh deadletter replay: error: access denied trying to list the blobs of http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/dl-[0-9a-f]+ \(\w+\): a SAS needs read, write, delete and list permissions \(sp=rwdl\); an identity needs Storage Blob Data Contributor$/m);
    assert.doesNotMatch(denied.stderr, /sig=/);
  });
});

describe('deadletter replay usage and configuration', () => {
  test('usage errors exit 2 with the reason', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /--container URL is required/],
      [['--container', 'not a url'], /--container: not a URL: "not a url"/],
      [['--container', 'http://storage.example.net/c'], /--container: plain http is only allowed for a local emulator/],
      [['--container', 'https://acct.blob.core.windows.net/a/b'], /--container: expected a container URL such as https:\/\/<account>\.blob\.core\.windows\.net\/<container>, got/],
      [['--container', 'https://acct.blob.core.windows.net/dl', '--since', 'yesterday'], /--since: expected an ISO 8601 time with a zone/],
      [['--container', 'https://acct.blob.core.windows.net/dl', '--progress-every', '0'], /--progress-every must be a positive whole number, got "0"/],
      [['--container', 'https://acct.blob.core.windows.net/dl', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args, {});
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  test('a real replay needs the app settings: exit 2 before any blob is touched', async () => {
    const run = await cli(['--container', 'https://acct.blob.core.windows.net/dl?sv=x&sig=secret'], {});
    assert.equal(run.code, 2);
    assert.equal(run.stderr, 'vmss-mesh deadletter replay: configuration error: VMSS_MESH_SUBSCRIPTIONS: at least one subscription ID is required\n');
  });

  test('--help prints the usage', async () => {
    const run = await cli(['--help'], {});
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: vmss-mesh deadletter replay --container URL/);
  });
});
