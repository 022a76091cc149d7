/** What a sandbox rollout accepts, and the messages of what it refuses (CLI `--steps`/`--to`, action body). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionOf } from '../../src/cli/sandbox';
import { ArmWorld } from '../../src/sandbox/arm-emulator';
import { scaleSetJson } from '../../src/sandbox/arm-emulator/arm-json';
import { UsageError } from '../../src/cli/command';
import { parseSandboxAction } from '../../src/sandbox/control/action-schema';
import { nextScaleSetName, parseSteps, rolloutTarget, stepProblems, weightsAt } from '../../src/sandbox/rollout-request';

test('steps: increasing shares in percent, 1–100, ending at 100', () => {
  assert.deepEqual(parseSteps('10,50,100'), [10, 50, 100]);
  assert.deepEqual(parseSteps(' 5 , 25%,100 '), [5, 25, 100]);
  assert.deepEqual(parseSteps('100'), [100]);
  assert.deepEqual(stepProblems([]), ['no steps given (e.g. 10,50,100)']);
  assert.deepEqual(stepProblems([50, 10, 100]), ['step 2: 10 does not increase on 50 (steps must increase)']);
  assert.deepEqual(stepProblems([10, 10, 100]), ['step 2: 10 does not increase on 10 (steps must increase)']);
  assert.deepEqual(stepProblems([0, 100]), ['step 1: 0 is not a share in percent (a whole number from 1 to 100)']);
  assert.deepEqual(stepProblems([10, 150]), ['step 2: 150 is not a share in percent (a whole number from 1 to 100)']);
  assert.deepEqual(stepProblems([10.5, 100]), ['step 1: 10.5 is not a share in percent (a whole number from 1 to 100)']);
  assert.deepEqual(stepProblems([10, 50]), ['the last step is 50, not 100 (the old scale set is retired once the new one has all of the traffic)']);
  assert.throws(() => parseSteps('10,fifty,100'), { message: '--steps: "fifty" is not a share in percent (a comma-separated list such as 10,50,100)' });
  assert.throws(() => parseSteps('10,-5,100'), { message: '--steps: "-5" is not a share in percent (a comma-separated list such as 10,50,100)' });
  assert.throws(() => parseSteps('50,10,100'), { message: '--steps: step 2: 10 does not increase on 50 (steps must increase)' });
  assert.throws(() => parseSteps('10,50,101'), { message: '--steps: step 3: 101 is not a share in percent (a whole number from 1 to 100)' });
  assert.deepEqual(weightsAt(10), { from: 90, to: 10 });
  assert.deepEqual(weightsAt(100), { from: 0, to: 100 });
});

test('--to: a scale set name, or an image reference (then the name is derived)', () => {
  assert.deepEqual(rolloutTarget('orders-green'), { kind: 'scale-set', name: 'orders-green' });
  assert.deepEqual(rolloutTarget('Canonical:ubuntu-24_04-lts:server:latest'), { kind: 'image', image: 'Canonical:ubuntu-24_04-lts:server:latest' });
  assert.deepEqual(rolloutTarget('/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/orders/versions/2.0.0'), {
    kind: 'image',
    image: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/orders/versions/2.0.0',
  });
  assert.throws(() => rolloutTarget('  '), { message: /^--to is empty/ });
  assert.throws(() => rolloutTarget('orders green'), { message: '--to: "orders green" is neither a scale set name (1–64 letters, digits, "-", "_", "."; starting with a letter or digit) nor an image reference (with ":" or "/")' });
  assert.throws(() => rolloutTarget('-orders'), { message: /is neither a scale set name/ });
  assert.equal(nextScaleSetName('orders', () => false), 'orders-v2');
  assert.equal(nextScaleSetName('orders-v2', () => false), 'orders-v3');
  assert.equal(nextScaleSetName('orders', (n) => n === 'orders-v2'), 'orders-v3');
});

test('the rollout and fail-half actions: parsed, and refused with the field named', () => {
  assert.deepEqual(parseSandboxAction({ action: 'rollout', service: ' orders ', to: 'orders-green', steps: [10, 50, 100] }), { action: 'rollout', service: 'orders', to: 'orders-green', steps: [10, 50, 100] });
  assert.deepEqual(parseSandboxAction({ action: 'rollout', service: 'orders', to: 'img:1', steps: [100], holdCalls: 0 }), { action: 'rollout', service: 'orders', to: 'img:1', steps: [100], holdCalls: 0 });
  assert.deepEqual(parseSandboxAction({ action: 'fail-half', instance: 'orders_0' }), { action: 'fail-half', instance: 'orders_0' });
  assert.throws(() => parseSandboxAction({ action: 'rollout', service: 'orders', to: 'x', steps: [50, 10] }), {
    name: 'InvalidInputError',
    message: 'steps: step 2: 10 does not increase on 50 (steps must increase)',
  });
  assert.throws(() => parseSandboxAction({ action: 'rollout', service: 'orders', to: 'x', steps: '10,100' }), { name: 'InvalidInputError', message: 'steps: must be a list of shares in percent, e.g. [10, 50, 100]' });
  assert.throws(() => parseSandboxAction({ action: 'rollout', service: 'orders', to: '', steps: [100] }), { name: 'InvalidInputError', message: 'to: must be a new scale set name or an image reference' });
  assert.throws(() => parseSandboxAction({ action: 'rollout', service: 'orders', to: 'x', steps: [100], holdCalls: -1 }), { name: 'InvalidInputError', message: 'holdCalls: must be 0 or more' });
  assert.throws(() => parseSandboxAction({ action: 'fail-half', instance: 'a', rate: 0.5 }), { name: 'InvalidInputError', message: 'unknown field "rate" for action "fail-half"' });
});

test('sandbox rollout on the command line: the action it sends, and usage errors', () => {
  assert.deepEqual(actionOf({ command: 'rollout', operands: ['orders'], to: 'orders-green', steps: '10,50,100' }), { action: 'rollout', service: 'orders', to: 'orders-green', steps: [10, 50, 100] });
  assert.deepEqual(actionOf({ command: 'rollout', operands: ['orders'], to: 'img:2', steps: '100', holdCalls: '0' }), { action: 'rollout', service: 'orders', to: 'img:2', steps: [100], holdCalls: 0 });
  assert.deepEqual(actionOf({ command: 'fail-half', operands: ['orders_1'] }), { action: 'fail-half', instance: 'orders_1' });
  const usage = (parsed: Parameters<typeof actionOf>[0], message: string) => assert.throws(() => actionOf(parsed), (e: unknown) => e instanceof UsageError && e.message === message);
  usage({ command: 'rollout', operands: [], to: 'x', steps: '100' }, 'expected sandbox rollout <service|set>, got 0 arguments');
  usage({ command: 'rollout', operands: ['orders'], steps: '100' }, 'rollout needs --to <new scale set name or image reference>');
  usage({ command: 'rollout', operands: ['orders'], to: 'x' }, 'rollout needs --steps, e.g. --steps 10,50,100');
  usage({ command: 'rollout', operands: ['orders'], to: 'x', steps: '50,10,100' }, '--steps: step 2: 10 does not increase on 50 (steps must increase)');
  usage({ command: 'rollout', operands: ['orders'], to: 'x', steps: '10,120' }, '--steps: step 2: 120 is not a share in percent (a whole number from 1 to 100)');
  usage({ command: 'rollout', operands: ['orders'], to: 'x', steps: '100', holdCalls: 'lots' }, '--hold-calls must be a whole number, got "lots"');
  usage({ command: 'scale', operands: ['orders', '3'], to: 'x' }, '--to, --steps and --hold-calls belong to `sandbox rollout`');
});

test('the ARM emulator keeps a scale set\'s image reference and shows it as ARM does (URN fields or an image ID)', () => {
  const world = new ArmWorld();
  try {
    const json = (name: string, imageReference?: string) => {
      world.createScaleSet({ subscriptionId: 'sub', resourceGroup: 'rg', name, ...(imageReference ? { imageReference } : {}) });
      const profile = (scaleSetJson(world.getScaleSet({ subscriptionId: 'sub', resourceGroup: 'rg', name })!) as { properties: { virtualMachineProfile: { storageProfile?: unknown } } }).properties.virtualMachineProfile;
      return profile.storageProfile;
    };
    assert.deepEqual(json('urn', 'Canonical:ubuntu-24_04-lts:server:latest'), { imageReference: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' } });
    assert.deepEqual(json('id', '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/images/orders-2'), { imageReference: { id: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/images/orders-2' } });
    assert.equal(json('none'), undefined);
  } finally {
    world.close();
  }
});
