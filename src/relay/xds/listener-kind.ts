/**
 * Listener (LDS): named by `name`; refers to the route configurations (RDS) and clusters (inline
 * `route_config`) of its HttpConnectionManagers, whether in filter chains or an `api_listener`
 * (proxyless gRPC). A root kind: wildcard subscriptions, SotW responses carry every subscribed
 * listener, and the first request is answered even when there is none.
 */
import { typeUrlOf } from './envoy-protos';
import { defineKind, type ResourceRefs } from './resource-kind';
import { routeClusters } from './route-kind';
import { list, record, text } from './spec-fields';

export const HTTP_CONNECTION_MANAGER_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const HCM_TYPE_URL = typeUrlOf(HTTP_CONNECTION_MANAGER_TYPE);

function hcmRefs(hcm: Readonly<Record<string, unknown>> | undefined, routeConfigs: string[], clusters: string[]): void {
  if (!hcm || hcm['@type'] !== HCM_TYPE_URL) return;
  const rdsName = text(record(hcm.rds)?.route_config_name);
  if (rdsName !== undefined) routeConfigs.push(rdsName);
  clusters.push(...routeClusters(record(hcm.route_config)));
}

export const LISTENER_KIND = defineKind({
  kind: 'listener',
  typeName: 'envoy.config.listener.v3.Listener',
  nameField: 'name',
  wildcard: true,
  sotwRequiresAll: true,
  answersFirstRequest: true,
  referencesOf(spec): ResourceRefs {
    const routeConfigs: string[] = [];
    const clusters: string[] = [];
    hcmRefs(record(record(spec.api_listener)?.api_listener), routeConfigs, clusters);
    for (const chain of [...list(spec.filter_chains), spec.default_filter_chain]) {
      for (const filter of list(record(chain)?.filters)) hcmRefs(record(record(filter)?.typed_config), routeConfigs, clusters);
    }
    return { routeConfigs, clusters, loadAssignments: [] };
  },
});
