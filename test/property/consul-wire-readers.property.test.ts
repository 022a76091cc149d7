/**
 * The fast readers of Consul's answers (wire-readers.ts) answer exactly what their zod schemas
 * answer: on generated JSON — valid answers, and answers with fields missing, null, of the wrong
 * type, non-integers, extra keys — a reader either gives zod's data (deep equal) or refuses, and it
 * refuses only what zod refuses. `parseAnswer` therefore returns what zod would, and reports a
 * malformed answer with zod's message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { z } from 'zod';
import * as wire from '../../src/shared/consul/wire';
import { parseAnswer } from '../../src/shared/consul/transport';
import { INVALID, readerOf } from '../../src/shared/consul/wire-readers';

const RUNS = Number(process.env.VMSS_MESH_PROPERTY_RUNS ?? 300);

const wrong = fc.constantFrom<unknown>(null, 1.5, -1, 2 ** 53, 'x', '', true, [], {}, ['a'], { a: 1 }, { __proto__: 'x' });
/** Mostly `valid`, sometimes missing (undefined: dropped by the JSON round trip) or wrong. */
const field = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: wrong });
const str = fc.string({ maxLength: 6 });
const int = fc.oneof(fc.nat(), fc.integer());
const strMap = fc.oneof(fc.dictionary(str, field(str), { maxKeys: 3 }), fc.constant(null));
const strList = fc.oneof(fc.array(field(str), { maxLength: 3 }), fc.constant(null));
const object = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> =>
  fc
    .tuple(fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, field(v)]))), fc.dictionary(fc.constantFrom('Extra', 'ID', 'CreateIndex'), fc.anything({ maxDepth: 1 }), { maxKeys: 2 }))
    .map(([known, extra]) => ({ ...extra, ...known }));
const list = (item: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => field(fc.array(item, { maxLength: 4 }));

const healthCheck = object({ Node: str, CheckID: str, Status: str, Output: fc.option(str), ServiceID: fc.option(str) });
const shapes: Record<string, { schema: z.ZodType; arb: fc.Arbitrary<unknown> }> = {
  catalogNodes: { schema: wire.catalogNodes, arb: list(object({ Node: str, Address: str, Meta: strMap, ModifyIndex: int })) },
  catalogServices: { schema: wire.catalogServices, arb: field(fc.dictionary(str, strList, { maxKeys: 3 })) },
  catalogServiceNodes: {
    schema: wire.catalogServiceNodes,
    arb: list(object({ Node: str, ServiceID: str, ServiceName: str, ServiceTags: strList, ServiceAddress: fc.option(str), ServicePort: int, ServiceMeta: strMap, NodeMeta: strMap })),
  },
  healthChecks: { schema: wire.healthChecks, arb: list(healthCheck) },
  healthServiceEntries: {
    schema: wire.healthServiceEntries,
    arb: list(
      object({
        Node: object({ Node: str, Address: str, Meta: strMap }),
        Service: object({ ID: str, Service: str, Tags: strList, Address: fc.option(str), Port: int, Meta: strMap, Weights: fc.option(object({ Passing: fc.double({ noNaN: true, noDefaultInfinity: true }), Warning: int })) }),
        Checks: fc.option(fc.array(healthCheck, { maxLength: 2 })),
      }),
    ),
  },
  kvEntries: { schema: wire.kvEntries, arb: list(object({ Key: str, Value: fc.option(str), ModifyIndex: int })) },
  txnAnswer: {
    schema: wire.txnAnswer,
    arb: object({
      Results: fc.option(
        fc.array(
          object({
            KV: fc.option(object({ Key: str, ModifyIndex: int })),
            Node: fc.option(object({ Node: str, ModifyIndex: int })),
            Service: fc.option(object({ ID: str, ModifyIndex: int })),
            Check: fc.option(object({ CheckID: str, ModifyIndex: int })),
          }),
          { maxLength: 3 },
        ),
      ),
      Errors: fc.option(fc.array(object({ OpIndex: int, What: str }), { maxLength: 2 })),
    }),
  },
  catalogNodeWithServices: { schema: wire.catalogNodeWithServices, arb: fc.option(object({ Node: object({ Node: str, Meta: strMap }) })) },
};

for (const [name, { schema, arb }] of Object.entries(shapes)) {
  test(`${name}: the fast reader answers what zod answers`, () => {
    const reader = readerOf(schema);
    assert.ok(reader, `${name} has no fast reader`);
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(arb, (generated) => {
        const json: unknown = generated === undefined ? undefined : JSON.parse(JSON.stringify(generated));
        const fast = reader(json);
        const slow = schema.safeParse(json);
        if (slow.success) {
          assert.notEqual(fast, INVALID, `refused what zod accepts: ${JSON.stringify(json)}`);
          assert.deepStrictEqual(fast, slow.data);
          assert.deepStrictEqual(parseAnswer(schema, json, name), slow.data);
          accepted += 1;
        } else {
          assert.equal(fast, INVALID, `accepted what zod refuses: ${JSON.stringify(json)}`);
          const issue = slow.error.issues[0]!;
          assert.throws(() => parseAnswer(schema, json, name), { name: 'InvalidInputError', message: `unexpected answer from Consul for ${name}: ${issue.path.join('.') || '(root)'}: ${issue.message}` });
          refused += 1;
        }
      }),
      { numRuns: RUNS },
    );
    // Both sides of the property were exercised.
    assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
  });
}

test('a malformed catalog answer is reported with the field and zod’s message', () => {
  assert.throws(() => parseAnswer(wire.catalogNodes, [{ Node: 'n', Address: 'a', Meta: { k: 1 }, ModifyIndex: 3 }], 'catalog nodes'), {
    name: 'InvalidInputError',
    message: 'unexpected answer from Consul for catalog nodes: 0.Meta.k: Invalid input: expected string, received number',
  });
  assert.throws(() => parseAnswer(wire.healthChecks, { not: 'a list' }, 'health state any'), {
    name: 'InvalidInputError',
    message: 'unexpected answer from Consul for health state any: (root): Invalid input: expected array, received object',
  });
});
