import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_MESH_SERVICES, MESH_PROTOCOLS, meshTagsFor, parseMeshTags } from '../../src/shared/azure/mesh-tags';
import type { MeshServiceSpec } from '../../src/shared/model';

const SERVICE_NAME = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const serviceName = fc
  .tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), fc.stringMatching(/^[a-z0-9-]{0,20}[a-z0-9]$/), fc.boolean())
  .map(([first, rest, short]) => (short ? first : `${first}${rest}`))
  .filter((name) => name !== 'consul');

const spec: fc.Arbitrary<MeshServiceSpec> = fc
  .record({
    name: serviceName,
    port: fc.integer({ min: 1, max: 65535 }),
    protocol: fc.constantFrom(...MESH_PROTOCOLS),
    healthPath: fc.option(fc.stringMatching(/^\/[\x21-\x7e]{0,40}$/), { nil: undefined }),
  })
  .map(({ healthPath, ...rest }) => (healthPath !== undefined && rest.protocol === 'http' ? { ...rest, healthPath } : rest));

/** Valid declarations: unique names, one protocol per port. */
const validServices = fc
  .uniqueArray(spec, { minLength: 1, maxLength: MAX_MESH_SERVICES, selector: (s) => s.name })
  .filter((list) => list.every((a) => list.every((b) => a.port !== b.port || a.protocol === b.protocol)));

/** Flips the case of some characters of a tag name (Azure tag names are case-insensitive). */
const recase = (name: string, flips: readonly boolean[]): string => [...name].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');

const unrelatedTags = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !k.toLowerCase().startsWith('vmss-mesh-') && k !== '__proto__'),
  fc.string({ maxLength: 30 }),
);

describe('mesh tags (properties)', () => {
  test('what meshTagsFor writes, parseMeshTags reads back unchanged', () => {
    fc.assert(
      fc.property(validServices, (declared) => {
        assert.deepEqual(parseMeshTags(meshTagsFor(declared)), { ok: true, services: declared });
      }),
    );
  });

  test('tag name casing and unrelated tags never change the result', () => {
    fc.assert(
      fc.property(validServices, fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }), unrelatedTags, (declared, flips, others) => {
        const tags = Object.fromEntries(Object.entries(meshTagsFor(declared)).map(([k, v]) => [recase(k, flips), v]));
        assert.deepEqual(parseMeshTags({ ...others, ...tags }), { ok: true, services: declared });
      }),
    );
  });

  test('never throws on arbitrary tags; an ok result only holds valid services, an error result names at least one problem', () => {
    const meshKey = fc.constantFrom('vmss-mesh-service', 'vmss-mesh-port', 'vmss-mesh-protocol', 'vmss-mesh-health-path', 'vmss-mesh-service-2', 'vmss-mesh-port-2', 'vmss-mesh-x', 'VMSS-MESH-PORT');
    const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: -10, max: 70000 }).map(String), fc.constantFrom('http', 'grpc', 'tcp', '/h', 'web'));
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(meshKey, fc.string({ maxLength: 8 })), value), (tags) => {
        const result = parseMeshTags(tags);
        if (result.ok) {
          for (const s of result.services) {
            assert.match(s.name, SERVICE_NAME);
            assert.ok(Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535);
            assert.ok(MESH_PROTOCOLS.includes(s.protocol));
            assert.ok(s.healthPath === undefined || (s.protocol === 'http' && s.healthPath.startsWith('/')));
          }
          assert.equal(new Set(result.services.map((s) => s.name)).size, result.services.length);
        } else {
          assert.ok(result.errors.length > 0);
        }
      }),
    );
  });

  test('a port that is not a whole number from 1 to 65535 is always rejected, naming the tag', () => {
    const badPort = fc.oneof(
      fc.integer({ min: 65536, max: 10_000_000 }).map(String),
      fc.integer({ min: -1000, max: 0 }).map(String),
      fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !/^[1-9][0-9]{0,4}$/.test(s.trim()) || Number(s) > 65535),
    );
    fc.assert(
      fc.property(serviceName, badPort, (name, port) => {
        const result = parseMeshTags({ 'vmss-mesh-service': name, 'vmss-mesh-port': port });
        assert.equal(result.ok, false);
        assert.deepEqual(result.ok ? [] : result.errors, [`vmss-mesh-port: ${JSON.stringify(port.trim())} is not a port (a whole number from 1 to 65535)`]);
      }),
    );
  });
});
