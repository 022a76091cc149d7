/** The one parser of sandbox actions (what the page's buttons and the CLI send), with fast-check. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAX_SANDBOX_CAPACITY, parseSandboxAction } from '../../src/sandbox/control/action-schema';
import type { SandboxAction } from '../../src/sandbox/sandbox-state';
import { InvalidInputError } from '../../src/shared/errors';

const name = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && s.length > 0);
const validAction: fc.Arbitrary<SandboxAction> = fc.oneof(
  fc.record({ action: fc.constant('scale' as const), scaleSet: name, capacity: fc.integer({ min: 0, max: MAX_SANDBOX_CAPACITY }) }),
  fc.record({ action: fc.constant('fail' as const), instance: name }),
  fc.record({ action: fc.constant('heal' as const), instance: name }),
  fc.record({ action: fc.constant('event-chaos' as const), enabled: fc.boolean() }),
);

test('every valid action parses to itself, also after a JSON round trip', () => {
  fc.assert(
    fc.property(validAction, (action) => {
      // fast-check may build null-prototype objects; compare plain copies.
      assert.deepEqual(parseSandboxAction(action), { ...action });
      assert.deepEqual(parseSandboxAction(JSON.parse(JSON.stringify(action))), { ...action });
    }),
  );
});

test('any JSON value either is a valid action or is refused with an InvalidInputError that says why', () => {
  const nearlyValid = validAction.chain((action) =>
    fc.record({ key: fc.constantFrom('action', 'scaleSet', 'capacity', 'instance', 'enabled', 'extra'), value: fc.jsonValue() }).map(({ key, value }) => ({ ...action, [key]: value })),
  );
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), nearlyValid), (body) => {
      let parsed: SandboxAction;
      try {
        parsed = parseSandboxAction(body);
      } catch (error) {
        assert.ok(error instanceof InvalidInputError, `not an InvalidInputError: ${String(error)}`);
        assert.ok(error.message.length > 10);
        return;
      }
      assert.deepEqual(parseSandboxAction(parsed), parsed);
    }),
  );
});

test('names are trimmed; the messages name the field', () => {
  assert.deepEqual(parseSandboxAction({ action: 'fail', instance: ' web_0 ' }), { action: 'fail', instance: 'web_0' });
  assert.throws(() => parseSandboxAction({ action: 'scale', scaleSet: 'web', capacity: '3' }), { name: 'InvalidInputError', message: 'capacity: must be a number' });
  assert.throws(() => parseSandboxAction({ action: 'scale', scaleSet: 7, capacity: Number.NaN }), { name: 'InvalidInputError', message: 'scaleSet: must be a scale set name (string); capacity: must be a number' });
  assert.throws(() => parseSandboxAction({ action: 'heal', instance: 'x'.repeat(257) }), { name: 'InvalidInputError', message: 'instance: instance name is longer than 256 characters' });
  assert.throws(() => parseSandboxAction({ action: 'event-chaos', enabled: true, a: 1, b: 2 }), { name: 'InvalidInputError', message: 'unknown fields "a", "b" for action "event-chaos"' });
  assert.throws(() => parseSandboxAction(null), { name: 'InvalidInputError', message: 'an action must be a JSON object such as {"action":"scale","scaleSet":"web","capacity":3}' });
  const error = (() => { try { parseSandboxAction({ action: 42 }); } catch (e) { return e; } return undefined; })();
  assert.ok(error instanceof InvalidInputError);
  assert.equal(error.path, 'action');
  assert.equal(error.message, 'action: must be one of "scale", "fail", "heal", "event-chaos", "fail-half", "rollout", got 42');
});
