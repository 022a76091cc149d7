/** Every kind's module by kind, and the look-ups the rest of the relay makes across kinds. */
import { CLUSTER_KIND } from './cluster-kind';
import { ENDPOINT_KIND } from './endpoint-kind';
import { LISTENER_KIND } from './listener-kind';
import { RESOURCE_KINDS, type ResourceKind, type ResourceRefs, type ResourceSpec, type XdsKind } from './resource-kind';
import { ROUTE_KIND } from './route-kind';

export const XDS_KINDS: Readonly<Record<ResourceKind, XdsKind>> = {
  cluster: CLUSTER_KIND,
  endpoint: ENDPOINT_KIND,
  listener: LISTENER_KIND,
  route: ROUTE_KIND,
};

/** Each kind's type URL (`XDS_KINDS[kind].typeUrl`), for code that only needs the URLs. */
export const TYPE_URLS: Readonly<Record<ResourceKind, string>> = {
  cluster: CLUSTER_KIND.typeUrl,
  endpoint: ENDPOINT_KIND.typeUrl,
  listener: LISTENER_KIND.typeUrl,
  route: ROUTE_KIND.typeUrl,
};

export function kindOfTypeUrl(typeUrl: string): ResourceKind | undefined {
  return RESOURCE_KINDS.find((k) => XDS_KINDS[k].typeUrl === typeUrl);
}

export function referencesOf(kind: ResourceKind, spec: ResourceSpec): ResourceRefs {
  return XDS_KINDS[kind].referencesOf(spec);
}
