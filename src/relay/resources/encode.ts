/**
 * Spec → EncodedResource: encoded once with Envoy's own protobuf types, versioned by a hash of the
 * bytes. `reuseIfUnchanged` keeps the previous object when the bytes did not change, so every
 * stream and snapshot shares one copy and the protocol layer can compare by identity.
 */
import { createHash } from 'node:crypto';
import type { EncodedResource, ResourceKind } from '../snapshot/snapshot-types';
import { envoyType } from '../xds/envoy-protos';
import { RESOURCE_TYPE_NAMES } from './resource-names';
import type { ResourceSpec } from './resource-spec';

/** 16 hex digits of SHA-256: a collision needs ~2^32 versions of one resource. */
export function contentVersion(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** The resource's xDS name: `cluster_name` for a ClusterLoadAssignment, `name` for the others. */
export function resourceName(kind: ResourceKind, spec: ResourceSpec): string {
  const name = kind === 'endpoint' ? spec.cluster_name : spec.name;
  if (typeof name !== 'string' || name === '') throw new TypeError(`a ${kind} resource needs a name`);
  return name;
}

export function encodeResource(kind: ResourceKind, spec: ResourceSpec): EncodedResource {
  const type = envoyType(RESOURCE_TYPE_NAMES[kind]);
  // protobufjs's writer may hand out a slice of a shared pool; a resource lives as long as its
  // version, so it gets its own small buffer instead of pinning a pool slab.
  const bytes = new Uint8Array(type.encode(type.fromObject(spec)).finish());
  return Object.freeze({ kind, name: resourceName(kind, spec), version: contentVersion(bytes), bytes });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function reuseIfUnchanged(previous: EncodedResource | undefined, next: EncodedResource): EncodedResource {
  return previous && previous.kind === next.kind && previous.name === next.name && previous.version === next.version && sameBytes(previous.bytes, next.bytes)
    ? previous
    : next;
}
