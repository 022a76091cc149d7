/**
 * The worker contract (issue 10, part 2): the PACKAGED Functions app (dist/functions-app, the
 * folder that is deployed) loaded with the stand-in of `@azure/functions-core` as the Node.js
 * worker loads it. What each function registers is asserted exactly, as the worker holds it and as
 * the host reads it (rawBindings parsed: binding names, types, directions, route, methods,
 * authLevel, schedule; retry options as the proto carries them), then
 * every function is invoked the way the worker invokes it, through the programming model the
 * app's bundled `@azure/functions` registered, with RPC-shaped invocation requests as the host
 * sends them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CoreInvocationContext, RpcInvocationRequest, RpcInvocationResponse, RpcLog } from '../../src/sandbox/functions-worker/core-api';
import { createFunctionsCore } from '../../src/sandbox/functions-worker/functions-core';
import { loadFunctionsApp, type FunctionsApp } from '../../src/sandbox/functions-worker/load-app';
import { packagedAppDirectory } from '../../src/sandbox/functions-worker/packaged-app';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';
import { autoscaleNotification, buildDeliveries } from '../../src/sandbox/event-grid';
import { startConsulDouble } from '../../src/sandbox/consul-double';

const SUBSCRIPTION = '00000000-0000-0000-0000-0000000000c1';
/** Settings that need no world (nothing listens at CONSUL_HTTP_ADDR; no reconcile is reached). */
const OFFLINE_ENV = { VMSS_MESH_SUBSCRIPTIONS: SUBSCRIPTION, CONSUL_HTTP_ADDR: 'http://127.0.0.1:9', VMSS_MESH_ARM_TOKEN: 'unused' };

async function loadPackaged(env: Record<string, string>, logs: RpcLog[] = []): Promise<FunctionsApp> {
  return loadFunctionsApp({ env, log: (l) => void logs.push(l) });
}

test('the packaged app registers exactly these functions and bindings, as the worker holds them and as the host reads them', async () => {
  const app = await loadPackaged(OFFLINE_ENV);
  const directory = packagedAppDirectory();
  assert.equal(app.directory, directory);
  assert.equal(app.entryPoint, path.join(directory, 'main.js'));
  assert.equal(app.programmingModel.name, '@azure/functions');
  assert.match(app.programmingModel.version, /^4\./);

  const deferred = { supportsDeferredBinding: 'false' };
  const where = { scriptFile: 'main.js', directory };
  const vmssEventsTrigger = { type: 'eventGridTrigger', name: 'eventGridTrigger69f302e322', direction: 'in', properties: deferred };
  const autoscaleTrigger = { methods: ['POST'], authLevel: 'function', route: 'autoscaleWebhook', type: 'httpTrigger', name: 'httpTriggerb7d7e03669', direction: 'in', properties: deferred };
  const timerTrigger = { schedule: '0 */5 * * * *', runOnStartup: false, useMonitor: true, type: 'timerTrigger', name: 'timerTrigger058ec10931', direction: 'in', properties: deferred };
  const statusTrigger = { methods: ['GET'], authLevel: 'function', route: 'status', type: 'httpTrigger', name: 'httpTriggerb834ea4228', direction: 'in', properties: deferred };
  // The library names the return binding in `bindings`; the worker's rawBindings (what the host reads) name it "$return".
  const httpReturn = { type: 'http', name: 'httpOutput9a706511b1', direction: 'out' };
  const raw = (...bindings: object[]) => bindings.map((b) => JSON.stringify(b));
  const httpReturnRaw = { type: 'http', name: '$return', direction: 'out' };

  // What the host reads: the rawBindings (each a JSON binding) and the retry options as the proto
  // carries them (RpcRetryOptions: no `strategy`). A renamed binding or a changed route fails here.
  const hostView = app.functions.map((f) => ({
    name: f.metadata.name,
    bindings: (f.metadata.rawBindings ?? []).map((text) => {
      const { name, type, direction, route, methods, authLevel, schedule } = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(Object.entries({ name, type, direction, route, methods, authLevel, schedule }).filter(([, v]) => v !== undefined));
    }),
    retry: f.metadata.retryOptions
      ? (({ maxRetryCount, delayInterval, minimumInterval, maximumInterval, retryStrategy }) =>
          Object.fromEntries(Object.entries({ maxRetryCount, delayInterval, minimumInterval, maximumInterval, retryStrategy }).filter(([, v]) => v !== undefined)))(f.metadata.retryOptions)
      : null,
  }));
  assert.deepEqual(hostView, [
    { name: 'vmssEvents', bindings: [{ name: 'eventGridTrigger69f302e322', type: 'eventGridTrigger', direction: 'in' }], retry: null },
    {
      name: 'autoscaleWebhook',
      bindings: [
        { name: 'httpTriggerb7d7e03669', type: 'httpTrigger', direction: 'in', route: 'autoscaleWebhook', methods: ['POST'], authLevel: 'function' },
        { name: '$return', type: 'http', direction: 'out' },
      ],
      retry: null,
    },
    {
      name: 'reconcileTimer',
      bindings: [{ name: 'timerTrigger058ec10931', type: 'timerTrigger', direction: 'in', schedule: '0 */5 * * * *' }],
      retry: { maxRetryCount: 3, minimumInterval: { seconds: 10 }, maximumInterval: { seconds: 120 }, retryStrategy: 'exponentialBackoff' },
    },
    {
      name: 'status',
      bindings: [
        { name: 'httpTriggerb834ea4228', type: 'httpTrigger', direction: 'in', route: 'status', methods: ['GET'], authLevel: 'function' },
        { name: '$return', type: 'http', direction: 'out' },
      ],
      retry: null,
    },
  ]);

  // As the worker holds it (what the library registered, before the worker encodes it for the host).
  assert.deepEqual(
    app.functions.map((f) => f.metadata),
    [
      { name: 'vmssEvents', bindings: { [vmssEventsTrigger.name]: vmssEventsTrigger }, functionId: 'vmssEvents', rawBindings: raw(vmssEventsTrigger), ...where },
      {
        name: 'autoscaleWebhook',
        bindings: { [autoscaleTrigger.name]: autoscaleTrigger, $return: httpReturn },
        functionId: 'autoscaleWebhook',
        rawBindings: raw(autoscaleTrigger, httpReturnRaw),
        ...where,
      },
      {
        name: 'reconcileTimer',
        bindings: { [timerTrigger.name]: timerTrigger },
        retryOptions: {
          strategy: 'exponentialBackoff',
          maxRetryCount: 3,
          minimumInterval: { seconds: 10 },
          maximumInterval: { seconds: 120 },
          retryStrategy: 'exponentialBackoff',
        },
        functionId: 'reconcileTimer',
        rawBindings: raw(timerTrigger),
        ...where,
      },
      { name: 'status', bindings: { [statusTrigger.name]: statusTrigger, $return: httpReturn }, functionId: 'status', rawBindings: raw(statusTrigger, httpReturnRaw), ...where },
    ],
  );
  // The worker's capabilities pass through the library unchanged (no HTTP streaming).
  assert.equal(app.capabilities.HttpUri, undefined);
  assert.equal(app.capabilities.RpcHttpBodyOnly, 'true');
});

test('each load is its own worker: fresh module state, its own environment, its own programming model', async () => {
  const before = { ...process.env };
  const first = await loadPackaged(OFFLINE_ENV);
  const second = await loadPackaged({ ...OFFLINE_ENV, VMSS_MESH_RECONCILE_SCHEDULE: '*/30 * * * * *' });
  const scheduleOf = (app: FunctionsApp) => JSON.parse(app.find('reconcileTimer')?.metadata.rawBindings?.[0] ?? '{}').schedule as string;
  assert.equal(scheduleOf(first), '0 */5 * * * *');
  assert.equal(scheduleOf(second), '*/30 * * * * *', 'the second app read its own environment');
  assert.notEqual(first.programmingModel, second.programmingModel);
  assert.notEqual(first.find('status')?.callback, second.find('status')?.callback, 'the bundle ran again');
  assert.deepEqual({ ...process.env }, before, 'loading an app does not touch this process’s environment');
  assert.equal(process.env.VMSS_MESH_RECONCILE_SCHEDULE, undefined);
});

test('two loads of the packaged app in one process keep their own runtime: each reaches the Consul of its own settings', async (t) => {
  const healthy = await startConsulDouble();
  t.after(() => healthy.close());
  const down = await startConsulDouble();
  t.after(() => down.close());
  down.state.setBeforeRequest(() => ({ status: 503, body: 'No cluster leader' }));
  const a = await loadPackaged({ ...OFFLINE_ENV, CONSUL_HTTP_ADDR: healthy.url });
  const b = await loadPackaged({ ...OFFLINE_ENV, CONSUL_HTTP_ADDR: down.url });
  const status = (app: FunctionsApp) =>
    app.invoke(httpRequest('status', 'httpTriggerb834ea4228', { method: 'GET', url: 'http://localhost:7071/api/status', headers: {}, nullableHeaders: {}, nullableQuery: {}, nullableParams: {} }));
  // Interleaved, twice: a runtime cached by the first invocation of one app must not serve the other.
  for (let round = 0; round < 2; round += 1) {
    assert.equal(httpAnswer(await status(a)).status, '200');
    assert.equal(httpAnswer(await status(b)).status, '503');
  }
  // status reached Consul through vendor.js, which main.js requires lazily: each load compiled its own.
  assert.equal(require.cache[path.join(packagedAppDirectory(), 'vendor.js')], undefined, 'vendor.js is not shared through require.cache');
});

/** The worker's InvocationHandler, spelled out: getInvocationModel → getArguments → invokeFunction → getResponse. */
async function invokeStepByStep(app: FunctionsApp, request: RpcInvocationRequest): Promise<RpcInvocationResponse> {
  const fn = app.functions.find((f) => f.metadata.functionId === request.functionId);
  assert.ok(fn, `no function ${request.functionId}`);
  const coreContext: CoreInvocationContext = { invocationId: request.invocationId ?? '', request, metadata: fn.metadata, log: () => undefined };
  const model = await app.programmingModel.getInvocationModel(coreContext);
  const { context, inputs } = await model.getArguments();
  const result = await model.invokeFunction(context, inputs, fn.callback);
  return model.getResponse(context, result);
}

const httpRequest = (functionId: string, bindingName: string, http: Record<string, unknown>): RpcInvocationRequest => ({
  invocationId: `inv-${functionId}-${Math.random().toString(16).slice(2)}`,
  functionId,
  inputData: [{ name: bindingName, data: { http } }],
  triggerMetadata: {},
});

function httpAnswer(response: RpcInvocationResponse): { status: string; headers: Record<string, string>; body: unknown } {
  assert.equal(response.result?.status ?? 'success', 'success', response.result?.exception?.message ?? '');
  const http = response.returnValue?.http;
  assert.ok(http, `no HTTP answer in ${JSON.stringify(response)}`);
  const bytes = http.body?.bytes;
  assert.ok(bytes, 'the body comes back as bytes');
  return { status: String(http.statusCode), headers: http.headers ?? {}, body: JSON.parse(Buffer.from(bytes).toString('utf8')) };
}

test('autoscaleWebhook through the worker: a malformed body is answered 400 (the handler must not throw), input of another resource type 200 ignored', async () => {
  const app = await loadPackaged(OFFLINE_ENV);
  const post = (body: string) =>
    httpRequest('autoscaleWebhook', 'httpTriggerb7d7e03669', {
      method: 'POST',
      url: 'https://mesh-func.azurewebsites.net/api/autoscaleWebhook?code=k',
      headers: {},
      nullableHeaders: { 'content-type': { value: 'application/json' }, host: { value: 'mesh-func.azurewebsites.net' } },
      nullableQuery: { code: { value: 'k' } },
      nullableParams: {},
      body: { bytes: new Uint8Array(Buffer.from(body)) },
    });

  // Step by step: invokeFunction would reject if the handler threw instead of answering.
  const notJson = httpAnswer(await invokeStepByStep(app, post('{oops')));
  assert.equal(notJson.status, '400');
  assert.equal(notJson.headers['content-type'], 'application/json');
  assert.match((notJson.body as { error: string }).error, /^body is not JSON: /);

  const badShape = httpAnswer(await app.invoke(post(JSON.stringify({ version: '1.0', status: 'Activated', operation: 'Scale Out', context: { resourceId: 7 } }))));
  assert.equal(badShape.status, '400');
  assert.match((badShape.body as { error: string }).error, /context/);

  const plan = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan`;
  const notification = autoscaleNotification({ resourceId: plan, oldCapacity: 1, newCapacity: 2, timestamp: new Date().toISOString() });
  const ignored = httpAnswer(await app.invoke(post(JSON.stringify(notification))));
  assert.equal(ignored.status, '200');
  assert.equal((ignored.body as { action: string }).action, 'ignored');
  assert.equal((ignored.body as { reason: string }).reason, 'not-a-scale-set-autoscale');
});

test('vmssEvents through the worker: malformed, foreign and validation events complete (no retry) in both schemas', async () => {
  const logs: RpcLog[] = [];
  const app = await loadPackaged(OFFLINE_ENV, logs);
  const event = (value: unknown, id: string): RpcInvocationRequest => ({
    invocationId: id,
    functionId: 'vmssEvents',
    inputData: [{ name: 'eventGridTrigger69f302e322', data: { json: JSON.stringify(value) } }],
    triggerMetadata: {},
  });
  const storage = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/logs`;
  const data = { resourceUri: storage, operationName: 'Microsoft.Storage/storageAccounts/write', status: 'Succeeded', subscriptionId: SUBSCRIPTION, tenantId: 't' };
  const eventGridSchema = { id: 'eg-1', topic: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg`, subject: storage, eventType: 'Microsoft.Resources.ResourceWriteSuccess', eventTime: new Date().toISOString(), dataVersion: '2', metadataVersion: '1', data };
  const cloudEvent = { specversion: '1.0', id: 'ce-1', source: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg`, subject: storage, type: 'Microsoft.Resources.ResourceWriteSuccess', time: new Date().toISOString(), data };

  for (const [value, id] of [
    [eventGridSchema, 'foreign-eventgrid'],
    [cloudEvent, 'foreign-cloudevent'],
    [{ ...eventGridSchema, id: 'eg-bad', data: { ...data, resourceUri: 42 } }, 'malformed'],
    [{ id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', subject: '', eventTime: new Date().toISOString(), data: { validationCode: 'c' }, dataVersion: '2', metadataVersion: '1', topic: 't' }, 'validation'],
  ] as const) {
    const response = await invokeStepByStep(app, event(value, id));
    assert.equal(response.invocationId, id);
    const viaWorker = await app.invoke(event(value, `${id}-2`));
    assert.deepEqual(viaWorker.result, { status: 'success' }, `${id}: ${viaWorker.result?.exception?.message}`);
  }
  const userLines = logs.filter((l) => l.logCategory === 'user');
  assert.ok(userLines.some((l) => l.invocationId === 'foreign-cloudevent-2' && /not-vmss/.test(l.message ?? '')), 'the CloudEvent was parsed and ignored with its reason');
  assert.ok(userLines.some((l) => l.invocationId === 'malformed-2' && l.level === 'warning' && /malformed event ignored/.test(l.message ?? '')));
  assert.ok(userLines.every((l) => l.category === `vmssEvents.Invocation`));
});

test('through the worker against the ARM emulator and the Consul double: a transient failure fails the invocation (retry), then events, the timer and status succeed', async (t) => {
  const world = await startLocalWorld({ lifecycle: { createDelayMs: 0, drainMs: 0 } });
  t.after(() => world.close());
  const logs: RpcLog[] = [];
  const app = await loadPackaged({ ...world.settings }, logs);
  const selector = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web' };
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...selector, capacity: 2, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  const [delivery] = buildDeliveries(world.pendingOperations.slice(-1), { schema: 'cloudevents' });
  const [cloudEvent] = delivery?.events ?? [];
  assert.ok(cloudEvent);
  const request = (id: string): RpcInvocationRequest => ({ invocationId: id, functionId: 'vmssEvents', inputData: [{ name: 'eventGridTrigger69f302e322', data: { json: JSON.stringify(cloudEvent) } }], triggerMetadata: {} });

  world.consul.state.setBeforeRequest(() => ({ status: 503, body: 'No cluster leader' }));
  const failed = await app.invoke(request('consul-down'));
  assert.equal(failed.result?.status, 'failure', 'Event Grid must see the failure and retry');
  assert.match(failed.result?.exception?.message ?? '', /503|leader|Consul/i);
  await assert.rejects(invokeStepByStep(app, request('consul-down-2')), 'the handler throws, so the worker reports a failure');

  world.consul.state.setBeforeRequest(undefined);
  assert.deepEqual((await app.invoke(request('consul-back'))).result, { status: 'success' });
  assert.equal(world.consul.state.snapshot().nodes.length, 2);

  // The timer as the host sends TimerInfo (PascalCase; the library camel-cases it for the handler).
  const next = new Date().toISOString();
  const tickRequest: RpcInvocationRequest = {
    invocationId: 'tick',
    functionId: 'reconcileTimer',
    inputData: [{ name: 'timerTrigger058ec10931', data: { json: JSON.stringify({ Schedule: { AdjustForDST: true }, ScheduleStatus: { Last: '0001-01-01T00:00:00', Next: next, LastUpdated: '0001-01-01T00:00:00' }, IsPastDue: true }) } }],
    triggerMetadata: {},
  };
  const timerFn = app.find('reconcileTimer');
  assert.ok(timerFn);
  const model = await app.programmingModel.getInvocationModel({ invocationId: 'tick', request: tickRequest, metadata: timerFn.metadata, log: () => undefined });
  const { inputs } = await model.getArguments();
  assert.deepEqual(inputs, [{ schedule: { adjustForDST: true }, scheduleStatus: { last: '0001-01-01T00:00:00', next, lastUpdated: '0001-01-01T00:00:00' }, isPastDue: true }]);
  const tick = await app.invoke(tickRequest);
  assert.deepEqual(tick.result, { status: 'success' }, tick.result?.exception?.message ?? '');
  assert.ok(logs.some((l) => l.invocationId === 'tick' && /swept 1 scale sets: \+0 ~0 -0/.test(l.message ?? '')), logs.map((l) => l.message).join('\n'));

  const status = httpAnswer(
    await app.invoke(httpRequest('status', 'httpTriggerb834ea4228', { method: 'GET', url: 'http://localhost:7071/api/status', headers: {}, nullableHeaders: {}, nullableQuery: {}, nullableParams: {} })),
  );
  assert.equal(status.status, '200');
  assert.equal((status.body as { totals: { instances: number } }).totals.instances, 2);
});

test('the stand-in behaves as the worker: interception per load, hooks in order, registration only at startup, the worker’s checks', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-worker-fixture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ main: 'app.js' }));
  // A tiny app written against the core API itself (no library): what the worker must offer it.
  writeFileSync(
    path.join(dir, 'app.js'),
    `const core = require('@azure/functions-core');
let calls = 0;
const order = [];
core.registerHook('appStart', (c) => { c.appHookData.dir = c.functionAppDirectory; order.push('appStart'); });
core.registerHook('preInvocation', (c) => { order.push('pre'); c.inputs = c.inputs.map((x) => x * 10); });
core.registerHook('postInvocation', (c) => { order.push('post'); c.result = { ...c.result, post: true, error: c.error ? String(c.error.message) : null }; c.error = null; });
core.registerHook('appTerminate', () => order.push('terminate'));
core.setProgrammingModel({
  name: 'fixture', version: '1.0.0',
  getInvocationModel: (ctx) => ({
    getArguments: async () => ({ context: ctx, inputs: [Number(ctx.request.inputData[0].data.int)] }),
    invokeFunction: async (context, inputs, callback) => callback(...inputs, context),
    getResponse: async (context, result) => ({ invocationId: ctx.invocationId, returnValue: { json: JSON.stringify(result) } }),
  }),
});
const disposable = core.registerFunction({ name: 'gone', bindings: { t: { type: 'fooTrigger', direction: 'in' } } }, () => 0);
disposable.dispose();
core.registerFunction({ name: 'echo', bindings: { t: { type: 'fooTrigger', direction: 'in' } } }, (x, ctx) => {
  if (x === 0) throw new Error('zero');
  if (x === 20) core.registerFunction({ name: 'late', bindings: { t: { type: 'fooTrigger', direction: 'in' } } }, () => 0);
  // lib.js is required lazily, like the packaged app's vendor.js: it must be this load's module too.
  const lib = require('./lib.js');
  return { x, calls: ++calls, env: process.env.FIXTURE, sameCore: require('@azure/functions-core') === core, order: [...order], lib: [lib.next(), ...lib.env()] };
});
`,
  );
  writeFileSync(path.join(dir, 'lib.js'), `let n = 0;\nexports.next = () => ++n;\nexports.env = () => [process.env.FIXTURE, require('node:process').env.FIXTURE, require('./settings.json').name];\n`);
  writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ name: 'from-json' }));
  const a = await loadFunctionsApp({ appDirectory: dir, env: { FIXTURE: 'a' } });
  const b = await loadFunctionsApp({ appDirectory: dir, env: { FIXTURE: 'b' } });
  assert.deepEqual(a.functions.map((f) => f.metadata.name), ['echo'], 'a disposed registration is gone');
  const call = async (app: FunctionsApp, value: number) => {
    const response = await app.invoke({ invocationId: `i${value}`, functionId: 'echo', inputData: [{ name: 't', data: { int: value } }] });
    return { response, value: response.returnValue?.json ? (JSON.parse(response.returnValue.json) as Record<string, unknown>) : undefined };
  };
  const first = await call(a, 1);
  assert.deepEqual(first.value, { x: 10, calls: 1, env: 'a', sameCore: true, order: ['appStart', 'pre'], lib: [1, 'a', 'a', 'from-json'], post: true, error: null });
  assert.deepEqual((await call(b, 1)).value?.calls, 1, 'the second load has its own module state');
  assert.deepEqual((await call(b, 1)).value?.lib, [2, 'b', 'b', 'from-json'], 'a file required lazily has its own module per load and the load’s environment');
  assert.equal(require.cache[path.join(dir, 'lib.js')], undefined, 'the app’s files stay out of require.cache');
  assert.equal((await call(b, 1)).value?.env, 'b');
  assert.equal((await call(a, 1)).value?.calls, 2);
  // A postInvocation hook may clear the error (the worker then answers with the result).
  assert.deepEqual((await call(a, 0)).value, { post: true, error: 'zero' });
  // Registering after the host asked for the metadata is refused, as by the worker.
  const late = await call(a, 2);
  assert.deepEqual(late.value, { post: true, error: 'A function can only be registered during app startup.' });
  // Unknown function id: a failure result, not an exception.
  const unknown = await a.invoke({ invocationId: 'u', functionId: 'nope', inputData: [] });
  assert.deepEqual(unknown.result?.status, 'failure');
  assert.equal(unknown.result?.exception?.message, "Function code for 'nope' is not loaded and cannot be invoked.");
  await a.terminate();
  assert.deepEqual((await call(a, 1)).value?.order, ['appStart', 'pre', 'post', 'pre', 'post', 'pre', 'post', 'pre', 'post', 'terminate', 'pre']);

  // The worker's checks at registration.
  const core = createFunctionsCore({ hostVersion: '4.0.0', log: () => undefined });
  const binding = { t: { type: 'fooTrigger', direction: 'in' as const } };
  core.module.registerFunction({ name: 'one', bindings: binding }, () => 0);
  assert.throws(() => core.module.registerFunction({ name: 'one', bindings: binding }, () => 0), { message: 'A function with id "one" has already been registered.' });
  assert.throws(() => core.module.registerFunction({ name: 'two', bindings: { t: { type: 'fooTrigger', direction: 'sideways' as never } } }, () => 0), {
    name: 'RangeError',
    message: 'Unexpected value "sideways" for type "CoreRpcBindingDirection"',
  });
  assert.throws(() => core.module.registerHook('onSomething', () => undefined), { name: 'RangeError', message: 'Unrecognized hook "onSomething"' });
  core.lockIndexing();
  assert.throws(() => core.module.registerFunction({ name: 'three', bindings: binding }, () => 0), { message: 'A function can only be registered during app startup.' });

  // A duplicate inside the entry point makes the load fail with the worker's message.
  writeFileSync(path.join(dir, 'app.js'), `const core = require('@azure/functions-core');\nfor (let i = 0; i < 2; i++) core.registerFunction({ name: 'dup', bindings: {} }, () => 0);\n`);
  await assert.rejects(loadFunctionsApp({ appDirectory: dir, env: {} }), { message: 'Worker was unable to load entry point "app.js": A function with id "dup" has already been registered.' });
});

test('responses are checked as the worker checks them: unknown enum values (fromCoreInvocationResponse) and malformed messages (StreamingMessage.verify) fail the invocation', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-worker-response-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ main: 'app.js' }));
  // A programming model whose getResponse returns whatever the request names (no library in between).
  writeFileSync(
    path.join(dir, 'app.js'),
    `const core = require('@azure/functions-core');
core.setProgrammingModel({
  name: 'fixture', version: '1.0.0',
  getInvocationModel: (ctx) => ({
    getArguments: async () => ({ context: ctx, inputs: [JSON.parse(ctx.request.inputData[0].data.json)] }),
    invokeFunction: async (context, inputs, callback) => callback(...inputs),
    getResponse: async (context, result) => ({ invocationId: ctx.invocationId, ...result }),
  }),
});
core.registerFunction({ name: 'answer', bindings: { t: { type: 'fooTrigger', direction: 'in' } } }, (response) => response);
`,
  );
  const logs: RpcLog[] = [];
  const app = await loadFunctionsApp({ appDirectory: dir, env: {}, log: (l) => void logs.push(l) });
  const answer = (response: unknown) => app.invoke({ invocationId: 'r', functionId: 'answer', inputData: [{ name: 't', data: { json: JSON.stringify(response) } }] });
  const http = (fields: object) => ({ returnValue: { http: { statusCode: '200', headers: { 'content-type': 'text/plain' }, body: { string: 'ok' }, ...fields } } });
  const cookie = { name: 'a', value: 'b', domain: { value: 'example.org' }, secure: { value: true }, maxAge: { value: 60 } };

  // Well-formed answers pass, every sameSite the worker knows included.
  for (const sameSite of ['none', 'lax', 'strict', 'explicitNone', undefined]) {
    assert.deepEqual((await answer(http({ cookies: [{ ...cookie, sameSite }] }))).result, { status: 'success' }, String(sameSite));
  }
  assert.deepEqual((await answer({ outputData: [{ name: 'out', data: { json: '{}' } }], returnValue: { int: 3 } })).result, { status: 'success' });

  const failure = async (response: unknown) => {
    const result = (await answer(response)).result;
    assert.equal(result?.status, 'failure', JSON.stringify(response));
    return result?.exception?.message;
  };
  // The worker's enum conversion.
  assert.equal(await failure(http({ cookies: [{ ...cookie, sameSite: 'sideways' }] })), 'Unexpected value "sideways" for type "CoreRpcHttpCookieSameSite"');
  assert.equal(await failure(http({ body: { http: { cookies: [{ ...cookie, sameSite: 'Lax' }] } } })), 'Unexpected value "Lax" for type "CoreRpcHttpCookieSameSite"');
  assert.equal(await failure({ result: { status: 'done' } }), 'Unexpected value "done" for type "CoreRpcStatus"');
  assert.equal(await failure({ result: { status: 'success', logs: [{ level: 'loud', message: 'x' }] } }), 'Unexpected value "loud" for type "CoreRpcLogLevel"');
  // The worker's verify of the message it would send.
  assert.equal(await failure(http({ statusCode: 200 })), 'Worker malformed message: invocationResponse.returnValue.http.statusCode: string expected');
  assert.equal(await failure({ returnValue: { string: 'a', json: '"a"' } }), 'Worker malformed message: invocationResponse.returnValue.data: multiple values');
  assert.equal(await failure(http({ headers: { 'x-n': 1 } })), 'Worker malformed message: invocationResponse.returnValue.http.headers.x-n: string expected');
  assert.equal(await failure(http({ cookies: [{ ...cookie, secure: { value: 'yes' } }] })), 'Worker malformed message: invocationResponse.returnValue.http.cookies[0].secure.value: boolean expected');
  assert.equal(await failure({ outputData: [{ name: 'out', data: { int: 1.5 } }] }), 'Worker malformed message: invocationResponse.outputData[0].data.int: integer|Long expected');
  assert.ok(logs.some((l) => l.logCategory === 'system' && l.level === 'error' && l.message?.startsWith('Worker malformed message: ')), 'logged as the worker’s system error');
});
