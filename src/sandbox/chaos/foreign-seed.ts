/**
 * Entries the mesh does not own, registered by hand in Consul before a chaos run: a node with a
 * service and a check, a node that carries our scale-set meta but not our marks, KV keys outside
 * and next to the mesh's prefix. The run ends by checking they are byte-identical.
 */
import type { ConsulDouble, WorldSnapshot } from '../consul-double';

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

/** The foreign part of a snapshot, as one comparable string per entry. */
export function foreignEntries(snapshot: WorldSnapshot): string[] {
  const nodes = new Set(['hand-db-1', 'orders-lookalike']);
  return [
    ...snapshot.nodes.filter((n) => nodes.has(n.node)).map((n) => JSON.stringify(n)),
    ...snapshot.services.filter((s) => nodes.has(s.node)).map((s) => JSON.stringify(s)),
    ...snapshot.checks.filter((c) => nodes.has(c.node)).map((c) => JSON.stringify(c)),
    ...snapshot.kv.filter((e) => e.key === 'app/config' || e.key.startsWith('vmss-mesh-other/')).map((e) => JSON.stringify(e)),
  ];
}
