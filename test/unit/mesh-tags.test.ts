import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasMeshTags, meshTagsFor, parseMeshTags } from '../../src/shared/azure/mesh-tags';
import type { MeshServiceSpec } from '../../src/shared/model';

function services(tags: Record<string, string>): readonly MeshServiceSpec[] {
  const result = parseMeshTags(tags);
  assert.equal(result.ok, true, result.ok ? '' : result.errors.join('\n'));
  return result.ok ? result.services : [];
}

function errors(tags: Record<string, string>): readonly string[] {
  const result = parseMeshTags(tags);
  assert.equal(result.ok, false, 'expected errors');
  return result.ok ? [] : result.errors;
}

describe('parseMeshTags: valid declarations', () => {
  test('no mesh tag at all: ok, no services', () => {
    assert.deepEqual(parseMeshTags({ team: 'web', 'mesh-service': 'x' }), { ok: true, services: [] });
    assert.deepEqual(parseMeshTags(undefined), { ok: true, services: [] });
    assert.equal(hasMeshTags({ team: 'web' }), false);
    assert.equal(hasMeshTags({ 'VMSS-MESH-PORT': '1' }), true);
  });

  test('service and port; protocol defaults to http', () => {
    assert.deepEqual(services({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' }), [{ name: 'web', port: 8080, protocol: 'http' }]);
  });

  test('every field, tag names in any case, values trimmed, protocol in any case', () => {
    assert.deepEqual(
      services({ 'VMSS-Mesh-Service': ' api ', 'vmss-mesh-PORT': '443', 'vmss-mesh-protocol': 'HTTP', 'vmss-mesh-health-path': '/healthz?full=1' }),
      [{ name: 'api', port: 443, protocol: 'http', healthPath: '/healthz?full=1' }],
    );
    assert.deepEqual(services({ 'vmss-mesh-service': 'db', 'vmss-mesh-port': '65535', 'vmss-mesh-protocol': 'tcp' }), [{ name: 'db', port: 65535, protocol: 'tcp' }]);
  });

  test('more services with -2 … -16 suffixes, in index order; one port may carry two names of the same protocol', () => {
    assert.deepEqual(
      services({
        'vmss-mesh-service-16': 'last',
        'vmss-mesh-port-16': '9',
        'vmss-mesh-service': 'web',
        'vmss-mesh-port': '8080',
        'vmss-mesh-service-2': 'grpc-api',
        'vmss-mesh-port-2': '9090',
        'vmss-mesh-protocol-2': 'grpc',
        'vmss-mesh-service-3': 'web-alias',
        'vmss-mesh-port-3': '8080',
      }),
      [
        { name: 'web', port: 8080, protocol: 'http' },
        { name: 'grpc-api', port: 9090, protocol: 'grpc' },
        { name: 'web-alias', port: 8080, protocol: 'http' },
        { name: 'last', port: 9, protocol: 'http' },
      ],
    );
  });

  test('meshTagsFor writes what parseMeshTags reads', () => {
    const declared: MeshServiceSpec[] = [
      { name: 'web', port: 80, protocol: 'http', healthPath: '/ready' },
      { name: 'rpc', port: 50051, protocol: 'grpc' },
    ];
    assert.deepEqual(meshTagsFor(declared), {
      'vmss-mesh-service': 'web',
      'vmss-mesh-port': '80',
      'vmss-mesh-protocol': 'http',
      'vmss-mesh-health-path': '/ready',
      'vmss-mesh-service-2': 'rpc',
      'vmss-mesh-port-2': '50051',
      'vmss-mesh-protocol-2': 'grpc',
    });
    assert.deepEqual(parseMeshTags(meshTagsFor(declared)), { ok: true, services: declared });
    assert.throws(() => meshTagsFor(Array.from({ length: 17 }, (_, i) => ({ name: `s${i}`, port: 1000 + i, protocol: 'tcp' as const }))), {
      name: 'RangeError',
      message: 'at most 16 mesh services per scale set, got 17',
    });
  });
});

describe('parseMeshTags: errors name the tag and the rule', () => {
  test('ports', () => {
    const rule = 'is not a port (a whole number from 1 to 65535)';
    for (const port of ['0', '65536', '80a', '080', '', '-1', '8080.0', '1e3']) {
      assert.deepEqual(errors({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': port }), [`vmss-mesh-port: ${JSON.stringify(port)} ${rule}`], port);
    }
  });

  test('protocols', () => {
    assert.deepEqual(errors({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': '80', 'vmss-mesh-protocol': 'udp' }), ['vmss-mesh-protocol: "udp" is not a protocol (one of http, grpc, tcp)']);
  });

  test('service names', () => {
    const rule = 'is not a valid service name (1–63 lower-case letters, digits and "-", starting with a letter, not ending with "-")';
    for (const name of ['Web', 'web_api', '1web', 'web-', 'we b', 'a'.repeat(64), 'wéb']) {
      assert.deepEqual(errors({ 'vmss-mesh-service': name, 'vmss-mesh-port': '80' }), [`vmss-mesh-service: ${JSON.stringify(name)} ${rule}`], name);
    }
    assert.deepEqual(errors({ 'vmss-mesh-service': 'consul', 'vmss-mesh-port': '80' }), ['vmss-mesh-service: "consul" is reserved by Consul itself']);
    assert.deepEqual(errors({ 'vmss-mesh-service': '  ', 'vmss-mesh-port': '80' }), ['vmss-mesh-service: the service name is empty']);
    assert.deepEqual(services({ 'vmss-mesh-service': 'a'.repeat(63), 'vmss-mesh-port': '80' }).map((s) => s.name.length), [63]);
  });

  test('health paths', () => {
    assert.deepEqual(errors({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': '80', 'vmss-mesh-health-path': 'healthz' }), [
      'vmss-mesh-health-path: "healthz" is not an HTTP path (must start with "/", no spaces, at most 256 characters)',
    ]);
    assert.deepEqual(errors({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': '80', 'vmss-mesh-health-path': '/a b' }), [
      'vmss-mesh-health-path: "/a b" is not an HTTP path (must start with "/", no spaces, at most 256 characters)',
    ]);
    assert.deepEqual(errors({ 'vmss-mesh-service': 'rpc', 'vmss-mesh-port': '80', 'vmss-mesh-protocol': 'grpc', 'vmss-mesh-health-path': '/h' }), [
      'vmss-mesh-health-path: a health path applies to http services only, this one is grpc',
    ]);
  });

  test('missing halves', () => {
    assert.deepEqual(errors({ 'vmss-mesh-service': 'web' }), ['vmss-mesh-service is set but vmss-mesh-port is missing']);
    assert.deepEqual(errors({ 'vmss-mesh-port': '80', 'vmss-mesh-protocol': 'tcp' }), ['vmss-mesh-port, vmss-mesh-protocol are set but vmss-mesh-service is missing']);
    assert.deepEqual(errors({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': '80', 'vmss-mesh-port-2': '81' }), ['vmss-mesh-port-2 is set but vmss-mesh-service-2 is missing']);
  });

  test('unknown mesh tags and out-of-range suffixes', () => {
    const known =
      'unknown mesh tag (known: vmss-mesh-service, vmss-mesh-port, vmss-mesh-protocol, vmss-mesh-health-path, vmss-mesh-weight, vmss-mesh-retry-on, vmss-mesh-retries, vmss-mesh-per-try-timeout, vmss-mesh-timeout, each optionally suffixed -2 … -16)';
    for (const tag of ['vmss-mesh-prot', 'vmss-mesh-service-1', 'vmss-mesh-service-17', 'vmss-mesh-port-02', 'vmss-mesh-', 'vmss-mesh-weights', 'vmss-mesh-retry', 'vmss-mesh-weight-1']) {
      assert.deepEqual(errors({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': '80', [tag]: 'x' }), [`${tag}: ${known}`], tag);
    }
  });

  test('conflicts between services and duplicate tag names', () => {
    assert.deepEqual(errors({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': '80', 'vmss-mesh-service-2': 'web', 'vmss-mesh-port-2': '81' }), ['service "web" is declared more than once']);
    assert.deepEqual(
      errors({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': '80', 'vmss-mesh-service-2': 'raw', 'vmss-mesh-port-2': '80', 'vmss-mesh-protocol-2': 'tcp' }),
      ['port 80 is declared as http (web) and as tcp (raw)'],
    );
    assert.deepEqual(errors({ 'vmss-mesh-service': 'web', 'VMSS-MESH-SERVICE': 'api', 'vmss-mesh-port': '80' }), [
      'vmss-mesh-service and VMSS-MESH-SERVICE name the same tag (tag names are case-insensitive)',
    ]);
  });

  test('every problem is reported at once', () => {
    assert.deepEqual(errors({ 'vmss-mesh-service': 'Web', 'vmss-mesh-port': '0', 'vmss-mesh-protocol': 'udp', 'vmss-mesh-service-2': 'ok', 'vmss-mesh-port-2': '1' }), [
      'vmss-mesh-service: "Web" is not a valid service name (1–63 lower-case letters, digits and "-", starting with a letter, not ending with "-")',
      'vmss-mesh-port: "0" is not a port (a whole number from 1 to 65535)',
      'vmss-mesh-protocol: "udp" is not a protocol (one of http, grpc, tcp)',
    ]);
  });
});

describe('parseMeshTags: values that are not strings (a malformed ARM answer)', () => {
  test('an object value is an error result, not a thrown TypeError (found by fuzzing)', () => {
    const tags = JSON.parse('{"vmss-mesh-service": {"toString": 0}, "vmss-mesh-port": "8080"}') as Record<string, string>;
    const result = parseMeshTags(tags);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.errors.some((e) => e === 'vmss-mesh-service: value must be a string, got object'), JSON.stringify(result));
  });

  test('null is an error too; numbers are read as their text', () => {
    const nulls = parseMeshTags({ 'vmss-mesh-service': null, 'vmss-mesh-port': '8080' } as unknown as Record<string, string>);
    assert.ok(!nulls.ok && nulls.errors.includes('vmss-mesh-service: value must be a string, got null'));
    const numbers = parseMeshTags({ 'vmss-mesh-service': 'web', 'vmss-mesh-port': 8080 } as unknown as Record<string, string>);
    assert.ok(numbers.ok && numbers.services[0]?.port === 8080);
  });
});
