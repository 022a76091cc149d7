/**
 * `deadletter replay` checks each event's envelope with @azure/eventgrid's EventGridDeserializer
 * before it calls the handler (the events come from blobs, not from Event Grid): an event the SDK
 * refuses (here: an Event Grid schema event without `topic`, which the parser alone would accept,
 * since it reads only what it uses) is not delivered and its blob stays; the complete events
 * beside it are delivered.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ContainerClient, ContainerSASPermissions, StorageSharedKeyCredential } from '@azure/storage-blob';
import { runCli } from '../../src/cli/main';
import { startAzurite, type Azurite } from '../../src/sandbox/azurite';
import { buildDeliveries } from '../../src/sandbox/event-grid';
import { SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION, startLocalWorld } from '../../src/sandbox/local-world';

const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

let azurite: Azurite;
before(async () => {
  const started = await startAzurite();
  if ('unavailable' in started) throw new Error(started.unavailable);
  azurite = started;
});
after(async () => {
  await azurite?.close();
});

test('an event whose envelope the Event Grid SDK refuses is not delivered; the blob stays', async (t) => {
  const world = await startLocalWorld({ lifecycle: { createDelayMs: 0 } });
  t.after(() => world.close());
  const web = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web' };
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...web, zones: ['1'], capacity: 0, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  world.arm.world.scale(web, 1);
  const [delivery] = buildDeliveries([...world.pendingOperations], { maxEventsPerBatch: 100 });
  assert.ok(delivery && delivery.events.length >= 2, 'two events or more');
  const [incomplete, ...complete] = delivery.events.map((event) => ({ ...event, deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 30 }));
  assert.ok(incomplete);
  delete (incomplete as { topic?: string }).topic;

  const container = new ContainerClient(`${azurite.blobUrl}/${DEV_ACCOUNT}/dl-${randomUUID().slice(0, 8)}`, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
  await container.create();
  const name = `VMSS-EVENTS-SCALE-SETS/2025/6/2/12/${randomUUID()}.json`;
  const body = JSON.stringify([incomplete, ...complete]);
  await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
  const sasUrl = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse('rwdl'), expiresOn: new Date(Date.now() + 3_600_000) });

  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await runCli(['deadletter', 'replay', '--container', sasUrl], { stdout, stderr: new PassThrough(), stdin: Readable.from([]), env: world.settings, cwd: process.cwd() });

  assert.equal(code, 1, out);
  assert.match(out, /\[0\] [^:]+: .*→ FAILED: not a complete Event Grid schema envelope \(@azure\/eventgrid\): event is missing required property 'topic'; not delivered$/m);
  assert.match(out, /\[1\] [^:]+: .*→ done/, 'the complete events of the blob were delivered');
  assert.match(out, new RegExp(`: failed, ${complete.length + 1} events — 1 of ${complete.length + 1} events failed; the blob stays for the next run`));
  const names: string[] = [];
  for await (const item of container.listBlobsFlat()) names.push(item.name);
  assert.deepEqual(names, [name]);
});
