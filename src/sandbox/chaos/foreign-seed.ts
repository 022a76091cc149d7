/**
 * Entries the mesh does not own, registered by hand in Consul during a chaos run. Before the
 * sandbox starts: a node with a service and a check, a node that carries our scale-set meta but
 * not our marks, KV keys outside and next to the mesh's prefix. After the first convergence, on
 * one of the mesh's own nodes: a service without our tag and a node check that is not ours — the
 * registry must keep them, and release that node instead of deleting it when its instance goes.
 * The run ends by comparing the foreign view (consul-observer.ts) with the one at its start.
 */
import type { ConsulDouble } from '../consul-double';

/** The service and node check registered by hand on a mesh node. */
export const FOREIGN_ON_MESH_NODE = { serviceId: 'node-exporter-1', service: 'node-exporter', checkId: 'disk-space' } as const;

async function put(consul: ConsulDouble, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${consul.url}${path}`, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body) });
  if (!response.ok) throw new Error(`seeding Consul: PUT ${path} → ${response.status} ${await response.text()}`);
}

export async function seedForeignEntries(consul: ConsulDouble, scaleSetId: string): Promise<void> {
  await put(consul, '/v1/catalog/register', {
    Node: 'hand-db-1',
    Address: '10.99.0.1',
    NodeMeta: { team: 'data' },
    Service: { ID: 'postgres-1', Service: 'postgres', Port: 5432, Tags: ['primary'] },
    Check: { CheckID: 'pg-alive', Name: 'postgres alive', Status: 'passing', ServiceID: 'postgres-1' },
  });
  // Looks like one of ours (our scale-set meta) but is not: no external-source mark.
  await put(consul, '/v1/catalog/register', { Node: 'orders-lookalike', Address: '10.99.0.2', NodeMeta: { 'vmss-mesh-scale-set': scaleSetId.toLowerCase(), 'external-node': 'true' } });
  await put(consul, '/v1/kv/app/config', '{"feature":true}');
  await put(consul, '/v1/kv/vmss-mesh-other/keep-me', 'not ours');
}

/**
 * Someone else's service and node check on one of our nodes (as a node exporter's agent would add
 * them), without touching the node itself. The check is passing: it is not the mesh's to judge,
 * and a critical one would (rightly) take the node's endpoints out of the relay.
 */
export async function seedForeignOnMeshNode(consul: ConsulDouble, node: string): Promise<void> {
  const { serviceId, service, checkId } = FOREIGN_ON_MESH_NODE;
  await put(consul, '/v1/catalog/register', { Node: node, SkipNodeUpdate: true, Service: { ID: serviceId, Service: service, Port: 9100, Tags: ['metrics'] } });
  await put(consul, '/v1/catalog/register', { Node: node, SkipNodeUpdate: true, Check: { CheckID: checkId, Name: 'disk space', Status: 'passing', Output: 'ok' } });
}
