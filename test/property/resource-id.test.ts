import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../../src/shared/errors';
import { parseResourceId, scaleSetId, scaleSetRefFromId } from '../../src/shared/resource-id';

const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const fromChars = (chars: string, minLength: number, maxLength: number) =>
  fc.array(fc.constantFrom(...chars.split('')), { minLength, maxLength }).map((a) => a.join(''));

const subscriptionArb = fc.uuid();
const resourceGroupArb = fc
  .tuple(fromChars(alnum, 1, 1), fromChars(`${alnum}-_.()`, 0, 40), fromChars(alnum, 1, 1))
  .map(([a, b, c]) => a + b + c);
const nameArb = fc.tuple(fromChars(alnum, 1, 1), fromChars(`${alnum}-_`, 0, 30)).map(([a, b]) => a + b);
const instanceIdArb = fc.nat({ max: 999 }).map(String);

/** The same text with each letter's case chosen at random: ARM IDs arrive in every casing. */
const randomCase = (text: string) =>
  fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((flips) =>
    text
      .split('')
      .map((ch, i) => (flips[i] ? ch.toUpperCase() : ch.toLowerCase()))
      .join(''),
  );

const parts = fc.record({ sub: subscriptionArb, rg: resourceGroupArb, name: nameArb });
const childSuffix = fc.oneof(
  fc.constant(''),
  instanceIdArb.map((id) => `/virtualMachines/${id}`),
  fc.tuple(instanceIdArb, nameArb).map(([id, nic]) => `/virtualMachines/${id}/networkInterfaces/${nic}`),
  nameArb.map((ext) => `/extensions/${ext}`),
);

function isInvalidInput(run: () => unknown): boolean {
  try {
    run();
    return false;
  } catch (error) {
    if (error instanceof InvalidInputError) return true;
    throw error;
  }
}

describe('ARM resource IDs (properties)', () => {
  test('round trip: an ID built from parts parses back to the lower-cased parts, whatever its casing', () => {
    fc.assert(
      fc.property(
        parts.chain((p) =>
          fc.record({
            p: fc.constant(p),
            written: randomCase(`/subscriptions/${p.sub}/resourceGroups/${p.rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${p.name}`),
          }),
        ),
        ({ p, written }) => {
          const parsed = parseResourceId(written);
          assert.equal(parsed.id, written.toLowerCase());
          assert.equal(parsed.subscriptionId, p.sub.toLowerCase());
          assert.equal(parsed.resourceGroup, p.rg.toLowerCase());
          assert.deepEqual(parsed.providers, [{ namespace: 'microsoft.compute', types: ['virtualmachinescalesets'], names: [p.name.toLowerCase()] }]);
          assert.equal(scaleSetId(p.sub, p.rg, p.name), parsed.id);
          assert.equal(parseResourceId(parsed.id).id, parsed.id, 'normalising twice changes nothing');
        },
      ),
    );
  });

  test('every child of a scale set names the scale set, in any casing', () => {
    fc.assert(
      fc.property(
        parts.chain((p) =>
          childSuffix.chain((suffix) =>
            fc.record({
              p: fc.constant(p),
              written: randomCase(`/subscriptions/${p.sub}/resourcegroups/${p.rg}/providers/microsoft.compute/virtualmachinescalesets/${p.name}${suffix}`),
            }),
          ),
        ),
        ({ p, written }) => {
          const ref = scaleSetRefFromId(written);
          assert.equal(ref.id, scaleSetId(p.sub, p.rg, p.name));
          assert.equal(ref.name, p.name.toLowerCase());
        },
      ),
    );
  });

  test('case-insensitivity: two casings of one ID normalise to the same string', () => {
    const idArb = fc.tuple(parts, childSuffix).map(([p, s]) => `/subscriptions/${p.sub}/resourceGroups/${p.rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${p.name}${s}`);
    fc.assert(
      fc.property(
        idArb.chain((id) => fc.tuple(randomCase(id), randomCase(id))),
        ([a, b]) => {
          assert.equal(parseResourceId(a).id, parseResourceId(b).id);
        },
      ),
    );
  });

  test('garbage is rejected with InvalidInputError, never another error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
        try {
          const parsed = parseResourceId(value);
          // Anything accepted must really be an ID under a subscription.
          assert.ok(typeof value === 'string' && parsed.id.startsWith('/subscriptions/'));
        } catch (error) {
          assert.ok(error instanceof InvalidInputError, String(error));
        }
      }),
    );
  });

  test('breaking a valid ID (empty segment, missing name, bad keyword) is always rejected', () => {
    const breakers: ((id: string) => string)[] = [
      (id) => id.replace('/resourceGroups/', '//resourceGroups/'),
      (id) => id.replace(/\/[^/]+$/, ''), // drop the scale set name: type without a name
      (id) => id.replace('/providers/', '/provider/'),
      (id) => id.replace('/subscriptions/', '/subscription/'),
      (id) => `${id}/virtualMachines`,
      (id) => ` ${id}`,
      (id) => id.replace('Microsoft.Compute', 'Compute'),
    ];
    fc.assert(
      fc.property(parts, fc.integer({ min: 0, max: breakers.length - 1 }), (p, which) => {
        const id = `/subscriptions/${p.sub}/resourceGroups/${p.rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${p.name}`;
        const broken = (breakers[which] as (id: string) => string)(id);
        assert.ok(isInvalidInput(() => parseResourceId(broken)), broken);
      }),
    );
  });

  // Issue 9, D5: long inputs. Anything accepted stays within ARM's limits; nothing longer is accepted.
  test('long inputs: accepted only within ARM\'s limits, otherwise InvalidInputError, never a crash', () => {
    const longName = fc.oneof(
      fc.integer({ min: 1, max: 300 }).map((n) => 'n'.repeat(n)),
      fc.integer({ min: 1, max: 6000 }).map((n) => 'x'.repeat(n)),
    );
    const longId = fc.oneof(
      fc.tuple(parts, longName).map(([p, name]) => `/subscriptions/${p.sub}/resourceGroups/${p.rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`),
      fc.tuple(parts, longName).map(([p, name]) => `/subscriptions/${p.sub}/resourceGroups/${p.rg}/providers/Microsoft.Compute/virtualMachines/${name}`),
      fc.tuple(parts, longName, fc.integer({ min: 1, max: 40 })).map(
        ([p, name, depth]) => `/subscriptions/${p.sub}/resourceGroups/${p.rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${p.name}${`/extensions/${name}`.repeat(depth)}`,
      ),
      fc.tuple(parts, fc.integer({ min: 80, max: 400 })).map(([p, n]) => `/subscriptions/${p.sub}/resourceGroups/${'g'.repeat(n)}`),
      fc.string({ minLength: 2000, maxLength: 8000 }).map((tail) => `/subscriptions/${tail}`),
    );
    fc.assert(
      fc.property(longId, (id) => {
        let parsed;
        try {
          parsed = parseResourceId(id);
        } catch (error) {
          assert.ok(error instanceof InvalidInputError, String(error));
          assert.ok(error.message.length < 1000, 'the reason stays short however long the input');
          return;
        }
        assert.ok(id.length <= 2048, `accepted an ID of ${id.length} characters`);
        assert.ok(id.split('/').every((segment) => segment.length <= 260));
        const [scope] = parsed.providers;
        if (scope?.namespace === 'microsoft.compute') assert.ok((scope.names[0] ?? '').length <= 64);
        if (parsed.resourceGroup !== undefined) assert.ok(parsed.resourceGroup.length <= 90);
      }),
      { numRuns: 2000 },
    );
  });
});
