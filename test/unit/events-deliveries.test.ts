import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { hintsOf, parseAutoscaleNotification, parseDelivery } from '../../src/shared/events';
import { scaleSetRef } from '../../src/shared/resource-id';
import {
  autoscaleNotification,
  autoscaleRequest,
  buildDeliveries,
  eventGridRequest,
  eventTypeFor,
  postWebhook,
  subscriptionValidationDelivery,
  validationRequest,
  type ArmOperation,
} from '../../src/sandbox/event-grid';

const SUB = '5f8a2c3d-9b1e-4a7f-8c6d-2e0b1a9c7d34';
const WEB = `/subscriptions/${SUB}/resourceGroups/rg-mesh/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web`;
const ALL = { scope: { subscriptions: [], resourceGroups: [] } };

const op = (operationName: string, over: Partial<ArmOperation> = {}): ArmOperation => ({
  operationName,
  resourceUri: WEB,
  subscriptionId: SUB,
  resourceGroup: 'rg-mesh',
  status: 'Succeeded',
  correlationId: 'c0a8f6e2-1b3d-4e5f-9a7b-6c5d4e3f2a1b',
  eventTime: '2024-05-01T10:00:00.000Z',
  ...over,
});

const operations: ArmOperation[] = [
  op('Microsoft.Compute/virtualMachineScaleSets/write', { httpMethod: 'PATCH' }),
  op('Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write', { resourceUri: `${WEB}/virtualMachines/4` }),
  op('Microsoft.Compute/virtualMachineScaleSets/delete/action'),
  op('Microsoft.Compute/virtualMachineScaleSets/virtualMachines/delete', { resourceUri: `${WEB}/virtualMachines/1` }),
  op('Microsoft.Compute/virtualMachineScaleSets/write', { status: 'Failed' }),
];

describe('eventTypeFor', () => {
  test('operation suffix × status', () => {
    assert.equal(eventTypeFor(op('Microsoft.Compute/virtualMachineScaleSets/write')), 'Microsoft.Resources.ResourceWriteSuccess');
    assert.equal(eventTypeFor(op('Microsoft.Compute/virtualMachineScaleSets/delete', { status: 'Canceled' })), 'Microsoft.Resources.ResourceDeleteCancel');
    assert.equal(eventTypeFor(op('Microsoft.Compute/virtualMachineScaleSets/restart/action', { status: 'Failed' })), 'Microsoft.Resources.ResourceActionFailure');
    assert.throws(() => eventTypeFor(op('Microsoft.Compute/virtualMachineScaleSets/read')), {
      name: 'TypeError',
      message: 'operation name must end in /write, /delete or /action: Microsoft.Compute/virtualMachineScaleSets/read',
    });
  });
});

describe('buildDeliveries', () => {
  test('Event Grid schema events carry the documented envelope and data', () => {
    const [delivery] = buildDeliveries(operations.slice(0, 1));
    assert.equal(delivery?.schema, 'eventgrid');
    const event = delivery?.schema === 'eventgrid' ? delivery.events[0] : undefined;
    assert.ok(event);
    assert.equal(event.topic, `/subscriptions/${SUB}/resourceGroups/rg-mesh`);
    assert.equal(event.subject, WEB);
    assert.equal(event.eventType, 'Microsoft.Resources.ResourceWriteSuccess');
    assert.equal(event.dataVersion, '2');
    assert.equal(event.metadataVersion, '1');
    assert.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(Object.keys(event.data), [
      'authorization',
      'claims',
      'correlationId',
      'httpRequest',
      'resourceProvider',
      'resourceUri',
      'operationName',
      'status',
      'subscriptionId',
      'tenantId',
    ]);
    assert.deepEqual(event.data['httpRequest'], {
      clientRequestId: (event.data['httpRequest'] as { clientRequestId: string }).clientRequestId,
      clientIpAddress: '127.0.0.1',
      method: 'PATCH',
      url: `https://management.azure.com${WEB}?api-version=2024-07-01`,
    });
    assert.equal(event.data['resourceProvider'], 'Microsoft.Compute');
  });

  test('a plain create carries no httpRequest; actions POST to the action URL', () => {
    const [create, action] = buildDeliveries([op('Microsoft.Compute/virtualMachineScaleSets/write'), op('Microsoft.Compute/virtualMachineScaleSets/restart/action')], { maxEventsPerBatch: 2 })[0]?.events ?? [];
    assert.equal(create?.data['httpRequest'], undefined);
    assert.deepEqual((action?.data['httpRequest'] as Record<string, unknown>)['url'], `https://management.azure.com${WEB}/restart?api-version=2024-07-01`);
  });

  test('both schemas parse to the same hints', () => {
    const [eventGrid] = buildDeliveries(operations, { maxEventsPerBatch: 100, seed: 7 });
    const [cloud] = buildDeliveries(operations, { maxEventsPerBatch: 100, seed: 7, schema: 'cloudevents' });
    assert.equal(cloud?.schema, 'cloudevents');
    const a = parseDelivery(eventGrid?.events, ALL);
    const b = parseDelivery(cloud?.events, ALL);
    assert.equal(b.schema, 'cloudevents');
    assert.deepEqual(hintsOf(a.outcomes), hintsOf(b.outcomes));
    assert.deepEqual(
      a.outcomes.map((o) => o.kind),
      ['hint', 'hint', 'hint', 'hint', 'ignored'],
    );
  });

  test('the subscription topic can be chosen', () => {
    const [delivery] = buildDeliveries(operations.slice(0, 1), { topicScope: 'subscription', schema: 'cloudevents' });
    assert.equal(delivery?.schema === 'cloudevents' && delivery.events[0]?.source, `/subscriptions/${SUB}`);
  });

  test('the same seed gives the same deliveries; another seed other IDs', () => {
    const options = { seed: 42, duplicateRate: 0.5, reorder: true, maxEventsPerBatch: 2 };
    assert.deepEqual(buildDeliveries(operations, options), buildDeliveries(operations, options));
    const ids = (seed: number) => buildDeliveries(operations, { seed }).flatMap((d) => d.events.map((e) => e.id));
    assert.notDeepEqual(ids(1), ids(2));
  });

  test('batches hold at most maxEventsPerBatch events, in order when not reordered', () => {
    const many = Array.from({ length: 7 }, (_, i) => op('Microsoft.Compute/virtualMachineScaleSets/write', { correlationId: `c${i}` }));
    const deliveries = buildDeliveries(many, { maxEventsPerBatch: 3 });
    assert.deepEqual(
      deliveries.map((d) => d.events.length),
      [3, 3, 1],
    );
    assert.deepEqual(
      deliveries.flatMap((d) => d.events.map((e) => e.data['correlationId'])),
      many.map((m) => m.correlationId),
    );
  });

  test('duplicates are redeliveries of the same event (same id); reordering is a permutation', () => {
    const many = Array.from({ length: 50 }, (_, i) => op('Microsoft.Compute/virtualMachineScaleSets/write', { correlationId: `c${i}` }));
    const plain = buildDeliveries(many, { seed: 3, maxEventsPerBatch: 5000 })[0]?.events ?? [];
    const noisy = buildDeliveries(many, { seed: 3, maxEventsPerBatch: 5000, duplicateRate: 1, reorder: true })[0]?.events ?? [];
    assert.equal(noisy.length, 100);
    const counts = new Map<string, number>();
    for (const e of noisy) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    assert.equal(counts.size, 50);
    assert.ok([...counts.values()].every((n) => n === 2));
    assert.notDeepEqual(
      noisy.map((e) => e.id),
      plain.flatMap((e) => [e.id, e.id]),
      'order changed',
    );
  });

  test('options are validated', () => {
    assert.throws(() => buildDeliveries(operations, { maxEventsPerBatch: 0 }), { name: 'TypeError', message: 'maxEventsPerBatch must be an integer from 1 to 5000, got 0' });
    assert.throws(() => buildDeliveries(operations, { duplicateRate: 2 }), { name: 'TypeError', message: 'duplicateRate must be in [0, 1], got 2' });
  });
});

describe('validation handshake and autoscale bodies', () => {
  test('the validation delivery parses to its code', () => {
    const delivery = subscriptionValidationDelivery({ validationCode: 'code-1', subscriptionId: SUB });
    const parsed = parseDelivery(delivery, ALL);
    assert.equal(parsed.validation?.validationCode, 'code-1');
    assert.match(parsed.validation?.validationUrl ?? '', /^https:\/\/rp-westeurope\.eventgrid\.azure\.net:553\/eventsubscriptions\/vmss-mesh\/validate\?id=code-1&/);
  });

  test('autoscale bodies follow the documented payload and parse', () => {
    const body = autoscaleNotification({ resourceId: WEB, oldCapacity: 2, newCapacity: 4, timestamp: '2024-05-01T10:00:00.0000000Z' });
    assert.deepEqual(body['operation'], 'Scale Out');
    const context = body['context'] as Record<string, unknown>;
    assert.equal(context['resourceType'], 'microsoft.compute/virtualmachinescalesets');
    assert.equal(context['oldCapacity'], '2');
    assert.equal(context['newCapacity'], '4');
    assert.equal(context['id'], `/subscriptions/${SUB}/resourceGroups/rg-mesh/providers/microsoft.insights/autoscalesettings/vmss-web-autoscale`);
    assert.deepEqual(hintsOf(parseAutoscaleNotification(body, ALL).outcomes)[0]?.target, { kind: 'scale-set', ref: scaleSetRef(SUB, 'rg-mesh', 'vmss-web') });

    const plan = autoscaleNotification({
      resourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan`,
      oldCapacity: 3,
      newCapacity: 1,
      timestamp: '2024-05-01T10:00:00Z',
    });
    assert.equal(plan['operation'], 'Scale In');
    const [outcome] = parseAutoscaleNotification(plan, ALL).outcomes;
    assert.equal(outcome?.kind === 'ignored' && outcome.reason, 'not-a-scale-set-autoscale');
  });
});

describe('webhook requests', () => {
  test('Event Grid requests target the func-start route with aeg headers', () => {
    const [delivery] = buildDeliveries(operations.slice(0, 2), { maxEventsPerBatch: 2 });
    assert.ok(delivery);
    const request = eventGridRequest(delivery, { deliveryCount: 2 });
    assert.equal(request.path, '/runtime/webhooks/eventgrid?functionName=vmssEvents');
    assert.deepEqual(request.headers, {
      'content-type': 'application/json',
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'VMSS-MESH',
      'aeg-delivery-count': '2',
      'aeg-data-version': '2',
      'aeg-metadata-version': '1',
    });
    assert.deepEqual(JSON.parse(request.body), delivery.events);
    const [cloud] = buildDeliveries(operations.slice(0, 1), { schema: 'cloudevents' });
    assert.ok(cloud);
    assert.equal(eventGridRequest(cloud, { functionName: 'other fn' }).headers['content-type'], 'application/cloudevents-batch+json; charset=utf-8');
    assert.equal(eventGridRequest(cloud, { functionName: 'other fn' }).path, '/runtime/webhooks/eventgrid?functionName=other%20fn');
    assert.equal(validationRequest(subscriptionValidationDelivery()).headers['aeg-event-type'], 'SubscriptionValidation');
    assert.equal(autoscaleRequest({}).path, '/api/autoscaleWebhook', "the app's autoscaleWebhook HTTP route");
  });

  test('postWebhook sends method, path, headers and body to a local server', async (t) => {
    const received: { method?: string; url?: string; headers?: IncomingHttpHeaders; body?: string }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(202).end('accepted');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const body = autoscaleNotification({ resourceId: WEB, oldCapacity: 1, newCapacity: 2, timestamp: '2024-05-01T10:00:00Z' });
    const response = await postWebhook(base, autoscaleRequest(body, '/api/autoscale?code=k'));
    assert.deepEqual(response, { status: 202, body: 'accepted' });
    assert.equal(received.length, 1);
    assert.equal(received[0]?.method, 'POST');
    assert.equal(received[0]?.url, '/api/autoscale?code=k');
    assert.equal(received[0]?.headers?.['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(received[0]?.body ?? ''), body);
  });
});
