/**
 * Spec → EncodedResource: encoded once with Envoy's own protobuf types, versioned by a hash of the
 * bytes, carrying what the protocol code needs to know about it (so it never decodes).
 * `reuseIfUnchanged` keeps the previous object when the bytes did not change, so every stream and
 * snapshot shares one copy and the protocol layer can compare by identity.
 */
import { createHash } from 'node:crypto';
import { envoyType } from './envoy-protos';
import { XDS_KINDS } from './kinds';
import type { EncodedResource, ResourceKind, ResourceSpec } from './resource-kind';

/** 16 hex digits of SHA-256: a collision needs ~2^32 versions of one resource. */
export function contentVersion(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export function encodeResource(kind: ResourceKind, spec: ResourceSpec): EncodedResource {
  const xdsKind = XDS_KINDS[kind];
  const type = envoyType(xdsKind.typeName);
  // protobufjs's writer may hand out a slice of a shared pool; a resource lives as long as its
  // version, so it gets its own small buffer instead of pinning a pool slab.
  const bytes = new Uint8Array(type.encode(type.fromObject(spec)).finish());
  const edsServiceName = xdsKind.edsServiceNameOf(spec);
  return Object.freeze({
    kind,
    name: xdsKind.nameOf(spec),
    version: contentVersion(bytes),
    bytes,
    ...(edsServiceName === undefined ? {} : { edsServiceName }),
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function reuseIfUnchanged(previous: EncodedResource | undefined, next: EncodedResource): EncodedResource {
  return previous &&
    previous.kind === next.kind &&
    previous.name === next.name &&
    previous.version === next.version &&
    previous.edsServiceName === next.edsServiceName &&
    sameBytes(previous.bytes, next.bytes)
    ? previous
    : next;
}
