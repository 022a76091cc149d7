/**
 * The traffic tags: `vmss-mesh-weight`, `-retry-on`, `-retries`, `-per-try-timeout`, `-timeout`
 * (docs/mesh-tags.md), per service with the usual suffixes; every bad value is an error that names
 * its tag, as for the other mesh tags.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { meshTagsFor, parseMeshTags } from '../../src/shared/azure/mesh-tags';
import type { MeshServiceSpec } from '../../src/shared/model';
import { formatDurationMs, parseDurationMs, servicePolicy, trafficFromMeta, trafficMeta } from '../../src/shared/traffic';

const BASE = { 'vmss-mesh-service': 'orders', 'vmss-mesh-port': '50051', 'vmss-mesh-protocol': 'grpc' };

function spec(tags: Record<string, string>): MeshServiceSpec {
  const result = parseMeshTags({ ...BASE, ...tags });
  assert.equal(result.ok, true, result.ok ? '' : result.errors.join('\n'));
  return result.ok ? (result.services[0] as MeshServiceSpec) : ({} as MeshServiceSpec);
}

function errors(tags: Record<string, string>): readonly string[] {
  const result = parseMeshTags({ ...BASE, ...tags });
  assert.equal(result.ok, false, 'expected errors');
  return result.ok ? [] : result.errors;
}

describe('vmss-mesh-weight', () => {
  test('0–1000, absent = no weight', () => {
    assert.equal(spec({}).weight, undefined);
    assert.equal(spec({ 'vmss-mesh-weight': '0' }).weight, 0);
    assert.equal(spec({ 'VMSS-Mesh-Weight': ' 90 ' }).weight, 90);
    assert.equal(spec({ 'vmss-mesh-weight': '1000' }).weight, 1000);
  });

  test('anything else is an error naming the tag', () => {
    for (const value of ['1001', '-1', '1.5', '', 'ten', '10%', '99999']) {
      assert.deepEqual(errors({ 'vmss-mesh-weight': value }), [`vmss-mesh-weight: ${JSON.stringify(value.trim())} is not a weight (a whole number from 0 to 1000; 0 drains the scale set)`], value);
    }
  });

  test('per service with the suffix; a weight without its service is a half declaration', () => {
    const result = parseMeshTags({ ...BASE, 'vmss-mesh-weight': '10', 'vmss-mesh-service-2': 'web', 'vmss-mesh-port-2': '80', 'vmss-mesh-weight-2': '0' });
    assert.equal(result.ok, true);
    assert.deepEqual(
      result.ok ? result.services.map((s) => [s.name, s.weight]) : [],
      [
        ['orders', 10],
        ['web', 0],
      ],
    );
    assert.deepEqual(errors({ 'vmss-mesh-weight-3': '5' }), ['vmss-mesh-weight-3 is set but vmss-mesh-service-3 is missing']);
  });
});

describe('retries and timeouts', () => {
  test('every field, conditions in any case, repeats dropped', () => {
    assert.deepEqual(
      spec({ 'vmss-mesh-retry-on': 'Unavailable, cancelled,5xx,reset,connect-failure,unavailable', 'vmss-mesh-retries': '3', 'vmss-mesh-per-try-timeout': '250ms', 'vmss-mesh-timeout': '2s' }).policy,
      { retryOn: ['unavailable', 'cancelled', '5xx', 'reset', 'connect-failure'], numRetries: 3, perTryTimeoutMs: 250, timeoutMs: 2000 },
    );
    assert.deepEqual(spec({ 'vmss-mesh-retry-on': 'unavailable' }).policy, { retryOn: ['unavailable'] });
    assert.deepEqual(spec({ 'vmss-mesh-timeout': '1m' }).policy, { retryOn: [], timeoutMs: 60_000 });
    assert.equal(spec({}).policy, undefined);
  });

  test('unknown conditions, bad counts and durations are errors naming the tag', () => {
    const conditions = 'gRPC: cancelled, deadline-exceeded, internal, resource-exhausted, unavailable; HTTP: 5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream';
    assert.deepEqual(errors({ 'vmss-mesh-retry-on': 'unavailable,not-found' }), [`vmss-mesh-retry-on: "not-found" is not a retry condition (${conditions})`]);
    assert.deepEqual(errors({ 'vmss-mesh-retry-on': 'oops,,5xx' }), [`vmss-mesh-retry-on: "oops", "" are not retry conditions (${conditions})`]);
    assert.deepEqual(errors({ 'vmss-mesh-retry-on': ' , ' }), [`vmss-mesh-retry-on: no retry condition given (a comma-separated list of ${conditions})`]);
    for (const value of ['0', '5', 'two', '-1']) {
      assert.deepEqual(errors({ 'vmss-mesh-retry-on': 'unavailable', 'vmss-mesh-retries': value }), [
        `vmss-mesh-retries: ${JSON.stringify(value)} is not a number of retries (a whole number from 1 to 4: gRPC clients make at most 5 attempts)`,
      ]);
    }
    for (const value of ['250', '0ms', '2h', '1.5s', 'soon', '61m']) {
      assert.deepEqual(errors({ 'vmss-mesh-timeout': value }), [`vmss-mesh-timeout: ${JSON.stringify(value)} is not a duration (a whole number with ms, s or m, e.g. 250ms, 2s; from 1ms to 60m)`], value);
    }
    assert.deepEqual(errors({ 'vmss-mesh-retry-on': 'unavailable', 'vmss-mesh-per-try-timeout': 'x' }), [
      'vmss-mesh-per-try-timeout: "x" is not a duration (a whole number with ms, s or m, e.g. 250ms, 2s; from 1ms to 60m)',
    ]);
  });

  test('retries and a per-try timeout need retry-on; a try cannot outlast the call', () => {
    assert.deepEqual(errors({ 'vmss-mesh-retries-2': '2', 'vmss-mesh-service-2': 'web', 'vmss-mesh-port-2': '80' }), [
      'vmss-mesh-retries-2 is set but vmss-mesh-retry-on-2 is missing (say which failures to retry)',
    ]);
    assert.deepEqual(errors({ 'vmss-mesh-per-try-timeout': '1s' }), ['vmss-mesh-per-try-timeout is set but vmss-mesh-retry-on is missing (say which failures to retry)']);
    assert.deepEqual(errors({ 'vmss-mesh-retry-on': 'unavailable', 'vmss-mesh-per-try-timeout': '3s', 'vmss-mesh-timeout': '2000ms' }), [
      'vmss-mesh-per-try-timeout: 3s is longer than vmss-mesh-timeout 2s (a try cannot outlast the whole call)',
    ]);
  });

  test('every problem at once, with the other tags', () => {
    assert.deepEqual(errors({ 'vmss-mesh-port': '0', 'vmss-mesh-weight': 'x', 'vmss-mesh-retries': '9' }), [
      'vmss-mesh-port: "0" is not a port (a whole number from 1 to 65535)',
      'vmss-mesh-weight: "x" is not a weight (a whole number from 0 to 1000; 0 drains the scale set)',
      'vmss-mesh-retries: "9" is not a number of retries (a whole number from 1 to 4: gRPC clients make at most 5 attempts)',
      'vmss-mesh-retries is set but vmss-mesh-retry-on is missing (say which failures to retry)',
    ]);
  });
});

describe('round trips', () => {
  test('meshTagsFor writes what parseMeshTags reads, weights and policies included', () => {
    const declared: MeshServiceSpec[] = [
      { name: 'orders', port: 50051, protocol: 'grpc', weight: 0, policy: { retryOn: ['unavailable', '5xx'], numRetries: 2, perTryTimeoutMs: 1500, timeoutMs: 120_000 } },
      { name: 'web', port: 80, protocol: 'http', weight: 1000, policy: { retryOn: [], timeoutMs: 250 } },
    ];
    const tags = meshTagsFor(declared);
    assert.equal(tags['vmss-mesh-per-try-timeout'], '1500ms');
    assert.equal(tags['vmss-mesh-timeout'], '2m');
    assert.equal(tags['vmss-mesh-weight-2'], '1000');
    assert.equal(tags['vmss-mesh-retry-on-2'], undefined);
    assert.deepEqual(parseMeshTags(tags), { ok: true, services: declared });
  });

  test('durations', () => {
    assert.deepEqual(['250ms', '2s', '1m', ' 2S ', '1500ms'].map(parseDurationMs), [250, 2000, 60_000, 2000, 1500]);
    assert.deepEqual(['', '1', '1h', '1.5s', '-1s'].map(parseDurationMs), [undefined, undefined, undefined, undefined, undefined]);
    assert.deepEqual([1, 1000, 1500, 60_000, 90_000].map(formatDurationMs), ['1ms', '1s', '1500ms', '1m', '90s']);
  });

  test('service meta: what trafficMeta writes trafficFromMeta reads; hand-edited junk is ignored, not thrown', () => {
    const traffic = { weight: 0, policy: { retryOn: ['unavailable' as const], numRetries: 4, perTryTimeoutMs: 100, timeoutMs: 900 } };
    assert.deepEqual(trafficMeta(traffic), {
      'vmss-mesh-weight': '0',
      'vmss-mesh-retry-on': 'unavailable',
      'vmss-mesh-retries': '4',
      'vmss-mesh-per-try-timeout-ms': '100',
      'vmss-mesh-timeout-ms': '900',
    });
    assert.deepEqual(trafficFromMeta(trafficMeta(traffic)), traffic);
    assert.deepEqual(trafficFromMeta({}), {}, 'older registrations: no weight, no policy');
    assert.deepEqual(trafficFromMeta({ 'vmss-mesh-weight': '5000', 'vmss-mesh-retry-on': 'nope', 'vmss-mesh-retries': '3', 'vmss-mesh-timeout-ms': 'x' }), {});
  });

  test('servicePolicy: the heaviest scale set decides, then the first ID; no weight counts 100', () => {
    const fast = { retryOn: ['unavailable' as const] };
    const slow = { retryOn: [], timeoutMs: 5000 };
    assert.deepEqual(servicePolicy(new Map([['b', { weight: 10, policy: fast }], ['a', { weight: 90, policy: slow }]])), slow);
    assert.deepEqual(servicePolicy(new Map([['b', { policy: fast }], ['a', { policy: slow }]])), slow);
    assert.deepEqual(servicePolicy(new Map([['b', { weight: 101, policy: fast }], ['a', { policy: slow }]])), fast);
    assert.equal(servicePolicy(new Map([['a', { weight: 500 }], ['b', { policy: fast }]])), undefined, 'the heaviest has none');
    assert.equal(servicePolicy(new Map()), undefined);
  });
});
