/**
 * The protoc-gen-validate rule families on a synthetic proto (including those Envoy's protos do
 * not use), the refusal of rules the validator cannot apply, and an audit of every rule in every
 * vendored Envoy proto.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as protobuf from 'protobufjs';
import { envoyRoot } from '../../src/relay/xds/envoy-protos';
import { UnsupportedRuleError } from '../helpers/envoy-validate';
import { PgvValidator, type Violation } from '../helpers/envoy-validate/pgv';
import { REFUSED_RULES, ruleInventory } from '../helpers/envoy-validate/rules';
import { loadVendoredProtos } from '../helpers/envoy-validate/vendored-protos';

function rules(violations: readonly Violation[]): string[] {
  return violations.map((v) => `${v.path} ${v.rule}`);
}

const SYNTHETIC = `
syntax = "proto3";
package pgvtest;
import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/any.proto";
import "google/protobuf/wrappers.proto";
enum Color { COLOR_UNSPECIFIED = 0; RED = 1; GREEN = 2; BLUE = 3; }
message Inner { string tag = 1 [(validate.rules).string.min_len = 1]; }
message Disabled { option (validate.disabled) = true; string tag = 1 [(validate.rules).string.min_len = 1]; }
message Everything {
  string s_const = 1 [(validate.rules).string = {ignore_empty: true, const: "exact"}];
  string s_len = 2 [(validate.rules).string = {ignore_empty: true, len: 3}];
  string s_max_len = 3 [(validate.rules).string.max_len = 3];
  string s_bytes = 4 [(validate.rules).string = {ignore_empty: true, min_bytes: 4, max_bytes: 5}];
  string s_prefix = 5 [(validate.rules).string = {ignore_empty: true, prefix: "pre", suffix: "suf", contains: "mid", not_contains: "bad"}];
  string s_not_in = 6 [(validate.rules).string = {not_in: "no" not_in: "nope"}];
  string s_hostname = 7 [(validate.rules).string = {ignore_empty: true, hostname: true}];
  string s_ip = 8 [(validate.rules).string = {ignore_empty: true, ip: true}];
  string s_ipv4 = 9 [(validate.rules).string = {ignore_empty: true, ipv4: true}];
  string s_ipv6 = 10 [(validate.rules).string = {ignore_empty: true, ipv6: true}];
  string s_address = 11 [(validate.rules).string = {ignore_empty: true, address: true}];
  string s_uri = 12 [(validate.rules).string = {ignore_empty: true, uri: true}];
  string s_uri_ref = 13 [(validate.rules).string = {ignore_empty: true, uri_ref: true}];
  string s_header_name = 14 [(validate.rules).string = {ignore_empty: true, well_known_regex: HTTP_HEADER_NAME}];
  string s_uuid = 15 [(validate.rules).string = {ignore_empty: true, uuid: true}];
  uint32 u32 = 16 [(validate.rules).uint32 = {ignore_empty: true, in: [1, 2, 3]}];
  uint64 u64 = 17 [(validate.rules).uint64 = {ignore_empty: true, lt: 10, gt: 20}];
  int32 i32 = 18 [(validate.rules).int32 = {ignore_empty: true, gte: -5, lte: 5}];
  int64 i64 = 19 [(validate.rules).int64 = {ignore_empty: true, not_in: [-1]}];
  double dbl = 20 [(validate.rules).double = {ignore_empty: true, gt: 0.5, lt: 1.5}];
  float flt = 21 [(validate.rules).float = {ignore_empty: true, const: 2.5}];
  bool b_const = 22 [(validate.rules).bool.const = true];
  Color color = 23 [(validate.rules).enum = {defined_only: true, in: [0, 1, 2]}];
  Color color_const = 24 [(validate.rules).enum.const = 0];
  repeated string r_unique = 25 [(validate.rules).repeated = {max_items: 3, unique: true}];
  repeated uint32 r_items = 26 [(validate.rules).repeated = {ignore_empty: true, min_items: 2, items: {uint32: {lte: 9}}}];
  map<string, int32> m = 27 [(validate.rules).map = {ignore_empty: true, min_pairs: 1, max_pairs: 2, keys: {string: {min_len: 2}}, values: {int32: {gt: 0}}}];
  google.protobuf.Duration d = 28 [(validate.rules).duration = {lt: {seconds: 5}, gte: {nanos: 1000}, not_in: {seconds: 2}}];
  google.protobuf.Timestamp ts = 29 [(validate.rules).timestamp = {gt: {seconds: 1000}, lt_now: true}];
  google.protobuf.Timestamp ts_within = 30 [(validate.rules).timestamp.within = {seconds: 60}];
  google.protobuf.Any any = 31 [(validate.rules).any = {in: "type.googleapis.com/pgvtest.Inner"}];
  google.protobuf.Any any_required = 32 [(validate.rules).any.required = true];
  bytes bts = 33 [(validate.rules).bytes = {ignore_empty: true, min_len: 2, max_len: 4, prefix: "A", ipv4: true}];
  google.protobuf.UInt32Value wrapped = 34 [(validate.rules).uint32.gt = 10];
  Inner inner = 35;
  Inner inner_skipped = 36 [(validate.rules).message.skip = true];
  Disabled disabled = 37;
  optional string opt = 38 [(validate.rules).string.min_len = 3];
  oneof choice { option (validate.required) = true; string one_a = 39 [(validate.rules).string.min_len = 2]; Inner one_b = 40; }
}`;

function syntheticRoot(source: string): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of ['google/protobuf/duration.proto', 'google/protobuf/timestamp.proto', 'google/protobuf/any.proto', 'google/protobuf/wrappers.proto']) root.addJSON(protobuf.common.get(file)!.nested!);
  protobuf.parse(source, root, { keepCase: true });
  root.resolveAll();
  return root;
}

const NOW = new Date('2026-12-03T10:00:00Z');

function synthetic(value: Record<string, unknown>, source = SYNTHETIC, typeName = 'pgvtest.Everything'): string[] {
  const root = syntheticRoot(source);
  const type = root.lookupType(typeName);
  return rules(new PgvValidator(root, { now: NOW }).run(type, type.fromObject(value) as unknown as Record<string, unknown>, 'E')).sort();
}

const INNER_ANY = (tag: string) => ({ '@type': 'type.googleapis.com/pgvtest.Inner', tag });
const VALID: Record<string, unknown> = { s_not_in: 'ok', b_const: true, ts: { seconds: 2000 }, ts_within: { seconds: NOW.getTime() / 1000 - 30 }, any_required: INNER_ANY('x'), one_a: 'ab' };

describe('PGV rule families on a synthetic proto (those Envoy’s protos do not use as well)', () => {
  test('a valid message passes; disabled messages, skipped fields and ignore_empty are honoured', () => {
    assert.deepEqual(synthetic({ ...VALID, inner_skipped: { tag: '' }, disabled: { tag: '' } }), []);
  });

  test('every string rule', () => {
    const bad = {
      ...VALID,
      s_const: 'exac',
      s_len: 'four',
      s_max_len: 'ñañañ',
      s_bytes: 'ñññ',
      s_prefix: 'xmidbadsuf',
      s_not_in: 'nope',
      s_hostname: 'a..b',
      s_ip: '10.0.0.256',
      s_ipv4: '::1',
      s_ipv6: 'fe80::1%eth0',
      s_address: '-bad-',
      s_uri: '/relative',
      s_uri_ref: 'a b',
      s_header_name: 'x:y',
      s_uuid: '123',
    };
    assert.deepEqual(
      synthetic(bad),
      [
        'E.s_address string.address',
        'E.s_bytes string.max_bytes',
        'E.s_const string.const',
        'E.s_header_name string.well_known_regex',
        'E.s_hostname string.hostname',
        'E.s_ip string.ip',
        'E.s_ipv4 string.ipv4',
        'E.s_ipv6 string.ipv6',
        'E.s_len string.len',
        'E.s_max_len string.max_len',
        'E.s_not_in string.not_in',
        'E.s_prefix string.not_contains',
        'E.s_prefix string.prefix',
        'E.s_uri string.uri',
        'E.s_uri_ref string.uri_ref',
        'E.s_uuid string.uuid',
      ],
    );
    assert.deepEqual(synthetic({ ...VALID, s_bytes: 'abc', s_prefix: 'premidsu', s_max_len: 'ñañ', s_hostname: 'a-1.b', s_address: 'fd00::1', s_uri: 'https://x/y?z=%20', s_uri_ref: '../x' }), ['E.s_bytes string.min_bytes', 'E.s_prefix string.suffix']);
  });

  test('every numeric rule, bool, enum, wrappers', () => {
    assert.deepEqual(synthetic({ ...VALID, u32: 4, u64: 15, i32: -6, i64: -1, dbl: 1.5, flt: 2, b_const: false, color: 3, color_const: 2, wrapped: { value: 10 } }), [
      'E.b_const bool.const',
      'E.color enum.in',
      'E.color_const enum.const',
      'E.dbl double.gt+lt',
      'E.flt float.const',
      'E.i32 int32.gte+lte',
      'E.i64 int64.not_in',
      'E.u32 uint32.in',
      'E.u64 uint64.gt+lt',
      'E.wrapped uint32.gt',
    ]);
    // lt 10 / gt 20 means "outside [10, 20]": 5 and 25 pass; an undefined enum value fails defined_only.
    assert.deepEqual(synthetic({ ...VALID, u64: 5, color: 7 }), ['E.color enum.defined_only', 'E.color enum.in']);
    assert.deepEqual(synthetic({ ...VALID, u64: '25', wrapped: { value: 11 } }), []);
  });

  test('repeated, map, duration, timestamp, any, bytes, nested messages, optional, oneof', () => {
    const bad = {
      ...VALID,
      r_unique: ['a', 'b', 'a', 'c'],
      r_items: [1, 10],
      m: { k: 0, kk: 1, kkk: 2 },
      d: { seconds: 2 },
      ts: { seconds: 999 },
      ts_within: { seconds: NOW.getTime() / 1000 - 61 },
      any: { '@type': 'type.googleapis.com/pgvtest.Disabled', tag: '' },
      any_required: INNER_ANY(''),
      bts: Buffer.from([0x41, 2, 3]),
      inner: { tag: '' },
      opt: 'ab',
      one_a: undefined,
    };
    assert.deepEqual(synthetic(bad), [
      'E.any any.in',
      'E.any_required<pgvtest.Inner>.tag string.min_len',
      'E.bts bytes.ipv4',
      'E.choice oneof.required',
      'E.d duration.not_in',
      'E.inner.tag string.min_len',
      'E.m map.max_pairs',
      'E.m["k"] int32.gt',
      'E.m["k"]<key> string.min_len',
      'E.opt string.min_len',
      'E.r_items[1] uint32.lte',
      'E.r_unique repeated.max_items',
      'E.r_unique[2] repeated.unique',
      'E.ts timestamp.gt',
      'E.ts_within timestamp.within',
    ]);
    assert.deepEqual(synthetic({ ...VALID, any_required: undefined, r_items: [1], d: { seconds: 5 }, ts: { seconds: NOW.getTime() / 1000 + 1 }, bts: Buffer.from([2, 2, 2, 2]), one_a: 'a' }), [
      'E.any_required any.required',
      'E.bts bytes.prefix',
      'E.d duration.gte+lt',
      'E.one_a string.min_len',
      'E.r_items repeated.min_items',
      'E.ts timestamp.lt_now',
    ]);
    assert.deepEqual(synthetic({ ...VALID, one_a: undefined, one_b: { tag: '' }, d: { nanos: 999 } }), ['E.d duration.gte+lt', 'E.one_b.tag string.min_len']);
  });

  test('a rule it does not implement is refused, not passed', () => {
    const refuse = (source: string) => {
      const root = syntheticRoot(`syntax = "proto3"; package r; message R { ${source} }`);
      const type = root.lookupType('r.R');
      return () => new PgvValidator(root).run(type, type.fromObject({}) as unknown as Record<string, unknown>, 'R');
    };
    assert.throws(refuse('string mail = 1 [(validate.rules).string.email = true];'), (e: unknown) => e instanceof UnsupportedRuleError && e.rules.join() === 'r.R.mail: string.email');
    assert.throws(refuse('uint32 n = 1 [(validate.rules).string.min_len = 1];'), /r\.R\.n: string rules on a uint32 field/);
    assert.throws(refuse('string s = 1 [(validate.rules).string.min_runes = 1];'), /r\.R\.s: string\.min_runes/);
    assert.throws(refuse('map<string, string> m = 1 [(validate.rules).map.no_sparse = true];'), /r\.R\.m: map\.no_sparse/);
    assert.throws(refuse('string s = 1 [(validate.rules).string.pattern = "(?i)abc"];'), /pattern "\(\?i\)abc" \(RE2 syntax JavaScript cannot read\)/);
    assert.deepEqual(REFUSED_RULES, ['string.email', 'map.no_sparse']);
  });

  test('every rule of every message type in the vendored Envoy protos is one the validator implements', () => {
    assert.deepEqual(new PgvValidator(envoyRoot()).auditAll(envoyRoot()), [], 'the protos the relay loads');
    const vendored = loadVendoredProtos();
    assert.ok(vendored.files.length > 300, `only ${vendored.files.length} proto files found`);
    // A few files import protos the package does not vendor (opencensus, opentelemetry, prometheus).
    assert.ok(vendored.failed.length <= 10, vendored.failed.map(([f, why]) => `${f}: ${why}`).join('\n'));
    assert.deepEqual(new PgvValidator(vendored.root).auditAll(vendored.root), [], 'every vendored v3 proto');
    // The inventory really sees the rules (e.g. 'gt 0' on Cluster.connect_timeout), and none PGV's C++ cannot enforce.
    const inventory = ruleInventory(vendored.root);
    assert.ok((inventory.get('duration.gt') ?? 0) > 10);
    assert.ok((inventory.get('oneof (validate.required)') ?? 0) > 100);
    assert.deepEqual([...inventory.keys()].filter((k) => REFUSED_RULES.some((r) => k === r || k.endsWith(`.${r}`))), []);
  });

  test('no validate rule in the vendored protos spells a \\x or octal escape (protobufjs would misread it)', () => {
    // protobufjs reads "\x01" in an option string as "01"; a rule spelt that way would be checked wrongly.
    const root = new protobuf.Root();
    protobuf.parse('syntax = "proto3"; package e; message E { string s = 1 [(validate.rules).string.prefix = "\\x41"]; }', root, { keepCase: true });
    assert.notEqual((root.lookupType('e.E').fields.s!.parsedOptions as unknown as Array<Record<string, { string: { prefix: string } }>>)[0]!['(validate.rules)']!.string.prefix, 'A');
    const offenders = loadVendoredProtos().sources.filter(([, source]) => source.split('\n').some((line) => line.includes('(validate.rules)') && /\\(x[0-9a-fA-F]|[0-7]{3})/.test(line)));
    assert.deepEqual(offenders.map(([file]) => file), []);
  });
});
