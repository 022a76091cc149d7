/**
 * What Envoy would say when loading our configuration, offline: protoc-gen-validate's rules from
 * the vendored Envoy protos (pgv.ts) and the semantic checks Envoy adds at load (semantics.ts),
 * for single resources, a profile's whole snapshot, and the `bootstrap envoy` document.
 *
 * Inputs may be encoded bytes, protobufjs messages, or plain objects in the form protobufjs's
 * `fromObject` takes (the relay's specs with `{'@type'}` Anys, or `toObject` output).
 */
import * as protobuf from 'protobufjs';
import type { Snapshot } from '../../../src/relay/snapshot/snapshot-types';
import type { ClientProfile } from '../../../src/relay/xds/client-profile';
import { XDS_KINDS } from '../../../src/relay/xds/kinds';
import { RESOURCE_KINDS, type ResourceKind } from '../../../src/relay/xds/resource-kind';
import { envoyRoot } from '../../../src/relay/xds/envoy-protos';
import { formatViolation, PgvValidator, type ValidateOptions, type Violation } from './pgv';
import { fromProto3Json } from './proto3-json';
import { type Finding, formatFinding, type Plain, SemanticChecker } from './semantics';

export { formatViolation, UnsupportedRuleError, type Violation } from './pgv';
export { formatFinding, type Finding } from './semantics';

export interface EnvoyReport {
  readonly violations: readonly Violation[];
  readonly findings: readonly Finding[];
  /** PGV violations and semantic errors, formatted (`path: message [rule]`). Empty = Envoy would load it. */
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

function report(violations: readonly Violation[], findings: readonly Finding[]): EnvoyReport {
  return {
    violations,
    findings,
    errors: [...violations.map(formatViolation), ...findings.filter((f) => f.severity === 'error').map(formatFinding)],
    warnings: findings.filter((f) => f.severity === 'warning').map(formatFinding),
  };
}

/** The last part of a full type name: `envoy.config.cluster.v3.Cluster` → `Cluster`. */
export function shortName(typeName: string): string {
  return typeName.slice(typeName.lastIndexOf('.') + 1);
}

function toMessage(type: protobuf.Type, value: unknown): Record<string, unknown> {
  if (value instanceof Uint8Array) return type.decode(value) as unknown as Record<string, unknown>;
  if (value instanceof protobuf.Message) return value as unknown as Record<string, unknown>;
  return type.fromObject(value as Record<string, unknown>) as unknown as Record<string, unknown>;
}

function toPlain(type: protobuf.Type, message: Record<string, unknown>): Plain {
  return type.toObject(message as unknown as protobuf.Message, { enums: String, longs: String });
}

/** PGV violations of one message (`typeName` is the full name, e.g. `envoy.config.cluster.v3.Cluster`). Throws UnsupportedRuleError. */
export function pgvViolations(typeName: string, value: unknown, options: ValidateOptions & { readonly path?: string } = {}): Violation[] {
  const root = envoyRoot();
  const type = root.lookupType(typeName);
  return new PgvValidator(root, options).run(type, toMessage(type, value), options.path ?? shortName(typeName));
}

/** One resource of the relay: PGV plus the semantic checks that need only the resource itself. */
export function validateResource(kind: ResourceKind, value: unknown, label?: string, profile: ClientProfile = 'envoy-gateway'): EnvoyReport {
  const root = envoyRoot();
  const type = root.lookupType(XDS_KINDS[kind].typeName);
  const message = toMessage(type, value);
  const path = label ?? shortName(XDS_KINDS[kind].typeName);
  const violations = new PgvValidator(root).run(type, message, path);
  // The profile matters for references between resources (validateSnapshot) and for an empty HTTP filter chain.
  const semantics = new SemanticChecker(root, profile);
  semantics.resource(kind, toPlain(type, message), path);
  return report(violations, semantics.findings);
}

/** Every resource of a profile's snapshot (each labelled `Cluster(orders)`, …), and the references between them. */
export function validateSnapshot(profile: ClientProfile, snapshot: Snapshot): EnvoyReport {
  const root = envoyRoot();
  const violations: Violation[] = [];
  const semantics = new SemanticChecker(root, profile);
  const plain = {} as Record<ResourceKind, Map<string, Plain>>;
  for (const kind of RESOURCE_KINDS) {
    const type = root.lookupType(XDS_KINDS[kind].typeName);
    plain[kind] = new Map();
    for (const [name, resource] of snapshot.resources[kind]) {
      const path = `${shortName(XDS_KINDS[kind].typeName)}(${name})`;
      const message = type.decode(resource.bytes) as unknown as Record<string, unknown>;
      violations.push(...new PgvValidator(root).run(type, message, path));
      const asPlain = toPlain(type, message);
      semantics.resource(kind, asPlain, path);
      plain[kind].set(name, asPlain);
    }
  }
  semantics.snapshot(plain);
  return report(violations, semantics.findings);
}

/** The `vmss-mesh bootstrap envoy` document (proto3 JSON of envoy.config.bootstrap.v3.Bootstrap). */
export function validateBootstrapJson(document: unknown): EnvoyReport {
  const root = envoyRoot();
  const type = root.lookupType('envoy.config.bootstrap.v3.Bootstrap');
  const message = type.fromObject(fromProto3Json(root, type, document, 'Bootstrap') as Record<string, unknown>) as unknown as Record<string, unknown>;
  const violations = new PgvValidator(root).run(type, message, 'Bootstrap');
  const semantics = new SemanticChecker(root, 'bootstrap');
  semantics.bootstrap(toPlain(type, message));
  return report(violations, semantics.findings);
}
