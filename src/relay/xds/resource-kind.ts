/**
 * What every xDS resource kind the relay serves has in common: the kinds, a resource before and
 * after encoding, and the rules each kind's module (`*-kind.ts`) states about itself. The protocol
 * code (ads/) reads a kind's rules and an encoded resource's fields from here; it never decodes.
 */
import { typeUrlOf } from './envoy-protos';

/** The four xDS resource kinds the relay serves, in make-before-break order. */
export const RESOURCE_KINDS = ['cluster', 'endpoint', 'listener', 'route'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/**
 * A resource before encoding: the plain object protobufjs's `fromObject` takes (field names as in
 * the .proto, enums as strings, nested Anys as `{'@type', ...fields}`).
 */
export type ResourceSpec = Readonly<Record<string, unknown>>;

/**
 * What a resource refers to, read back from its spec (not from the builders' bookkeeping), so the
 * snapshot's consistency check verifies what will actually be sent.
 */
export interface ResourceRefs {
  /** RDS names a listener's HttpConnectionManager asks for. */
  readonly routeConfigs: readonly string[];
  /** Clusters a route configuration (or an inline route_config) routes to. */
  readonly clusters: readonly string[];
  /** ClusterLoadAssignment names an EDS cluster needs. */
  readonly loadAssignments: readonly string[];
}

export const NO_REFS: ResourceRefs = { routeConfigs: [], clusters: [], loadAssignments: [] };

/**
 * One resource, encoded once per content and shared by every stream that sends it.
 * Immutable: callers must not alter `bytes`.
 */
export interface EncodedResource {
  readonly kind: ResourceKind;
  readonly name: string;
  /** Content hash of `bytes`: equal version ⇔ equal bytes. */
  readonly version: string;
  /** The serialized resource message (the `value` of its google.protobuf.Any). */
  readonly bytes: Uint8Array;
  /**
   * EDS clusters only: the ClusterLoadAssignment the cluster reads. The protocol code resends it
   * after the cluster changed (Envoy keeps an updated cluster warming until it gets a fresh EDS
   * response, even an identical one).
   */
  readonly edsServiceName?: string;
}

/** Everything the relay knows about one kind, in that kind's module. */
export interface XdsKind {
  readonly kind: ResourceKind;
  /** The Envoy message type, e.g. `envoy.config.cluster.v3.Cluster`. */
  readonly typeName: string;
  /** `type.googleapis.com/<typeName>`. */
  readonly typeUrl: string;
  /** Wildcard subscriptions (`*`, or the legacy empty first request) are allowed. */
  readonly wildcard: boolean;
  /** SotW: a response carries every subscribed resource, and leaving one out deletes it. */
  readonly sotwRequiresAll: boolean;
  /** The first request is answered even when nothing exists (Envoy waits for it to initialise). */
  readonly answersFirstRequest: boolean;
  /** The resource's xDS name (throws TypeError when it has none). */
  nameOf(spec: ResourceSpec): string;
  referencesOf(spec: ResourceSpec): ResourceRefs;
  /** The ClusterLoadAssignment an EDS cluster reads; undefined for every other resource. */
  edsServiceNameOf(spec: ResourceSpec): string | undefined;
}

/** What a kind's module states; the rules it leaves out are false, and it refers to nothing. */
export interface XdsKindDefinition extends Partial<Omit<XdsKind, 'kind' | 'typeName' | 'typeUrl' | 'nameOf'>> {
  readonly kind: ResourceKind;
  readonly typeName: string;
  /** The field that names the resource. */
  readonly nameField: 'name' | 'cluster_name';
}

export function defineKind(definition: XdsKindDefinition): XdsKind {
  const { kind, typeName, nameField } = definition;
  return Object.freeze({
    kind,
    typeName,
    typeUrl: typeUrlOf(typeName),
    wildcard: definition.wildcard ?? false,
    sotwRequiresAll: definition.sotwRequiresAll ?? false,
    answersFirstRequest: definition.answersFirstRequest ?? false,
    nameOf(spec: ResourceSpec): string {
      const name = spec[nameField];
      if (typeof name !== 'string' || name === '') throw new TypeError(`a ${kind} resource needs a name`);
      return name;
    },
    referencesOf: definition.referencesOf ?? (() => NO_REFS),
    edsServiceNameOf: definition.edsServiceNameOf ?? (() => undefined),
  });
}
