/** Node names: readable VM name + a hash of the lower-cased resource ID, the same on every call (remembered or not). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { nodeNameFor } from '../../src/shared/ownership';

const ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/3';

test('node name: readable part and the first 10 hex digits of SHA-256 of the lower-cased ID, whatever the ID case', () => {
  const hash = createHash('sha256').update(ID.toLowerCase()).digest('hex').slice(0, 10);
  assert.equal(nodeNameFor('web_3', ID), `web-3-${hash}`);
  assert.equal(nodeNameFor('web_3', ID.toUpperCase()), `web-3-${hash}`);
  assert.equal(nodeNameFor('___', ID), `vm-${hash}`);
});

test('node name: a repeated call answers what a fresh hash gives, DNS-safe and at most 63 characters', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), fc.string({ minLength: 1, maxLength: 120 }), (vmName, id) => {
      const expected = createHash('sha256').update(id.toLowerCase()).digest('hex').slice(0, 10);
      const first = nodeNameFor(vmName, id);
      assert.equal(nodeNameFor(vmName, id), first);
      assert.ok(first.endsWith(`-${expected}`), first);
      assert.ok(first.length <= 63 && /^[a-z0-9-]+$/.test(first), first);
    }),
  );
});
