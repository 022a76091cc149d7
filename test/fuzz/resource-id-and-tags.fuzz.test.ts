/**
 * Fuzz of the ARM resource ID parser and the mesh tag parser. `parseResourceId` returns a
 * normalised ID or throws InvalidInputError with a message; what it returns parses again to itself.
 * `parseMeshTags` never throws: it returns services or errors, and `meshTagsFor` round-trips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_MESH_SERVICES, MESH_PROTOCOLS, meshTagsFor, parseMeshTags } from '../../src/shared/azure/mesh-tags';
import { InvalidInputError } from '../../src/shared/errors';
import { computeTargetOf, parseResourceId, scaleSetRefFromId, type ResourceId } from '../../src/shared/resource-id';
import { meshServicesArb } from '../helpers/arbitraries';
import { fuzz, onlyThrows } from '../helpers/fuzz-runs';

const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const word = (chars: string, min: number, max: number) => fc.array(fc.constantFrom(...chars), { minLength: min, maxLength: max }).map((a) => a.join(''));

/** IDs ARM could send: parts within ARM's name rules and lengths, any casing, any depth of children. */
const validId: fc.Arbitrary<string> = fc
  .record({
    sub: fc.oneof(fc.uuid(), word(alnum, 1, 8)),
    rg: fc.option(fc.tuple(word(alnum, 1, 1), word(`${alnum}-_.()`, 0, 30), word(alnum, 1, 1)).map(([a, b, c]) => a + b + c), { nil: undefined }),
    scopes: fc.array(
      fc.record({
        namespace: fc.constantFrom('Microsoft.Compute', 'microsoft.network', 'Microsoft.Authorization', 'Contoso.Widgets.V2'),
        children: fc.array(fc.tuple(fc.constantFrom('virtualMachineScaleSets', 'virtualMachines', 'extensions', 'networkInterfaces', 'locks'), word(`${alnum}-_`, 1, 24)), { minLength: 1, maxLength: 3 }),
      }),
      { maxLength: 2 },
    ),
    trailingSlash: fc.boolean(),
  })
  .map(({ sub, rg, scopes, trailingSlash }) => {
    let id = `/subscriptions/${sub}`;
    if (rg !== undefined) id += `/resourceGroups/${rg}`;
    for (const s of scopes) id += `/providers/${s.namespace}${s.children.map(([type, name]) => `/${type}/${name}`).join('')}`;
    return trailingSlash ? `${id}/` : id;
  });

const idChar = fc.oneof(fc.constantFrom('/', '/', 'a', 'Z', '0', '-', '_', '.', '(', ')', ' ', '%', '?', '#', '\u0000', '\u007f', 'é', '\u{1F600}', '\uD800'), fc.string({ maxLength: 1 }));
const hostileId: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: validId },
  // Near-valid: one character inserted, removed or replaced somewhere.
  { weight: 4, arbitrary: fc.tuple(validId, fc.nat(), fc.nat(2), idChar).map(([id, at, kind, ch]) => { const i = at % (id.length + 1); return kind === 0 ? id.slice(0, i) + ch + id.slice(i) : kind === 1 ? id.slice(0, i) + id.slice(i + 1) : id.slice(0, i) + ch + id.slice(i + 1); }) },
  { weight: 1, arbitrary: fc.tuple(validId, fc.nat()).map(([id, cut]) => id.slice(0, cut % (id.length + 1))) },
  { weight: 1, arbitrary: fc.tuple(validId, fc.integer({ min: 1, max: 40 })).map(([id, times]) => id + '/virtualMachines/0'.repeat(times)) },
  { weight: 2, arbitrary: fc.array(idChar, { maxLength: 60 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constant(undefined)) },
);

test('fuzz: parseResourceId returns a normalised ID that parses to itself, or throws InvalidInputError', async (t) => {
  await fuzz(
    t,
    'parseResourceId',
    15000,
    fc.property(hostileId, (raw) => {
      let parsed: ResourceId | undefined;
      onlyThrows(InvalidInputError, () => (parsed = parseResourceId(raw, 'data.resourceUri')));
      if (!parsed) return;
      assert.equal(parsed.id, parsed.id.toLowerCase());
      assert.deepEqual(parseResourceId(parsed.id), parsed, 'normalising twice changes nothing');
      assert.equal(parsed.id, (raw as string).replace(/\/$/, '').toLowerCase());
      onlyThrows(InvalidInputError, () => scaleSetRefFromId(parsed as ResourceId));
      const target = computeTargetOf(parsed);
      if (target?.kind === 'scale-set') assert.ok(parsed.id.startsWith(target.ref.id));
    }),
  );
});

test('fuzz: valid IDs are accepted in any casing', async (t) => {
  await fuzz(
    t,
    'parseResourceId (valid)',
    3000,
    fc.property(validId, fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }), (id, flips) => {
      const recased = [...id].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c.toLowerCase())).join('');
      assert.equal(parseResourceId(recased).id, parseResourceId(id).id);
    }),
  );
});

const meshKey = fc.oneof(
  fc.constantFrom('vmss-mesh-service', 'vmss-mesh-port', 'vmss-mesh-protocol', 'vmss-mesh-health-path', 'VMSS-MESH-SERVICE', 'vmss-mesh-service-2', 'vmss-mesh-port-16', 'vmss-mesh-port-17', 'vmss-mesh-port-0', 'vmss-mesh-port-02', 'vmss-mesh-', 'vmss-mesh-x'),
  fc.string({ maxLength: 12 }).map((s) => `vmss-mesh-${s}`),
  fc.string({ maxLength: 12 }),
);
const tagValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('web', 'api', 'consul', '8080', '0', '65536', '080', ' 443 ', 'http', 'GRPC', 'tcp', '/healthz', '/a b', '', ' '),
  fc.string({ maxLength: 300 }),
  fc.integer().map(String),
);
const hostileTags: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.dictionary(meshKey, tagValue, { maxKeys: 12 }),
  fc.tuple(meshServicesArb({ minLength: 1, maxLength: 4 }), fc.dictionary(meshKey, tagValue, { maxKeys: 2 })).map(([services, extra]) => ({ ...meshTagsFor(services), ...extra })),
  // ARM JSON is untyped: a scalar tag value that is not a string must not crash the parser either.
  // (Object values are left out: see the note at the end of this file.)
  fc.dictionary(meshKey, fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.object(), fc.constant({ toString: 0 })), { maxKeys: 4 }) as unknown as fc.Arbitrary<Record<string, string>>,
);

test('fuzz: parseMeshTags never throws; ok results hold only valid services and round-trip through meshTagsFor', async (t) => {
  await fuzz(
    t,
    'parseMeshTags',
    15000,
    fc.property(hostileTags, (tags) => {
      const result = parseMeshTags(tags);
      if (!result.ok) {
        assert.ok(result.errors.length > 0 && result.errors.every((e) => typeof e === 'string' && e.length > 0));
        return;
      }
      assert.ok(result.services.length <= MAX_MESH_SERVICES);
      for (const s of result.services) {
        assert.ok(Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535);
        assert.ok(MESH_PROTOCOLS.includes(s.protocol));
      }
      assert.deepEqual(parseMeshTags(meshTagsFor(result.services)), result);
    }),
  );
});
