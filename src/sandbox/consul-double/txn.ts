/**
 * PUT /v1/txn for the double: KV, Node, Service and Check verbs as Consul's transaction endpoint
 * defines them. Any failure (every failing op is reported, as Consul does) undoes the operations
 * that ran before it (the caller runs this inside World.transact), so the transaction is
 * all-or-nothing.
 */
import { Authorizer } from './acl';
import { TXN_OP_SPEC, checkFields } from './body-fields';
import type { AclResource } from './acl';
import * as catalog from './catalog-ops';
import { decodeCheck, decodeNode, decodeService, field, fields } from './decode';
import * as kv from './kv-ops';
import { renderCheck, renderKv, renderNode, renderNodeService } from './render';
import { OpError, World } from './catalog-kv-state';

export interface TxnError {
  readonly OpIndex: number;
  readonly What: string;
}

export type TxnOutcome =
  | { readonly kind: 'committed'; readonly results: unknown[]; readonly writes: boolean }
  | { readonly kind: 'rolled-back'; readonly errors: TxnError[] };

const KV_WRITES = new Set(['set', 'cas', 'lock', 'unlock', 'delete', 'delete-cas', 'delete-tree']);

/** Validates the body's shape and size (HTTP 400 / 413 before anything runs). */
export function decodeTxnBody(body: unknown, maxOps: number): unknown[] {
  if (!Array.isArray(body)) {
    throw new OpError(`Failed to parse body: json: cannot unmarshal ${body === null ? 'null' : typeof body} into Go value of type api.TxnOps`, 400);
  }
  if (body.length > maxOps) {
    throw new OpError(`Transaction contains too many operations (${body.length} > ${maxOps})`, 413);
  }
  body.forEach((op, i) => checkFields(op, TXN_OP_SPEC, 'Failed to parse body', `[${i}].`));
  return body;
}

/** True when any operation would change state (a read-only txn is served like a read). */
export function txnHasWrites(ops: readonly unknown[]): boolean {
  return ops.some((op) => {
    const f = fields(op, 'api.TxnOp');
    const kvOp = field(f, 'KV');
    if (kvOp) return KV_WRITES.has(String(field(fields(kvOp, 'api.KVTxnOp'), 'Verb') ?? ''));
    for (const name of ['Node', 'Service', 'Check']) {
      const other = field(f, name);
      if (other) return String(field(fields(other, 'api.TxnOp'), 'Verb') ?? '') !== 'get';
    }
    return false;
  });
}

/** Runs the operations against `w` in place: on `rolled-back` the caller must undo them. */
export function runTxn(w: World, idx: number, ops: readonly unknown[], authz: Authorizer, datacenter: string): TxnOutcome {
  const results: unknown[] = [];
  const errors: TxnError[] = [];
  ops.forEach((op, opIndex) => {
    try {
      results.push(...dispatch(w, idx, op, authz, datacenter));
    } catch (error) {
      if (!(error instanceof OpError)) throw error;
      errors.push({ OpIndex: opIndex, What: error.message });
    }
  });
  if (errors.length > 0) return { kind: 'rolled-back', errors };
  return { kind: 'committed', results, writes: txnHasWrites(ops) };
}

function authorize(authz: Authorizer, resource: AclResource, name: string, level: 'read' | 'write'): void {
  if (!authz.allowed(resource, name, level)) throw new OpError(authz.denied(resource, name, level), 403);
}

function dispatch(w: World, idx: number, op: unknown, authz: Authorizer, dc: string): unknown[] {
  const f = fields(op, 'api.TxnOp');
  const kvOp = field(f, 'KV');
  const nodeOp = field(f, 'Node');
  const serviceOp = field(f, 'Service');
  const checkOp = field(f, 'Check');
  if (kvOp) return kvVerb(w, idx, fields(kvOp, 'api.KVTxnOp'), authz);
  if (nodeOp) return nodeVerb(w, idx, fields(nodeOp, 'api.NodeTxnOp'), authz, dc);
  if (serviceOp) return serviceVerb(w, idx, fields(serviceOp, 'api.ServiceTxnOp'), authz);
  if (checkOp) return checkVerb(w, idx, fields(checkOp, 'api.CheckTxnOp'), authz);
  throw new OpError('no operation specified');
}

function kvVerb(w: World, idx: number, f: Map<string, unknown>, authz: Authorizer): unknown[] {
  const verb = String(field(f, 'Verb') ?? '');
  const key = String(field(f, 'Key') ?? '');
  const rawValue = field(f, 'Value');
  const value = typeof rawValue === 'string' ? rawValue : null;
  const flags = Number(field(f, 'Flags') ?? 0);
  const index = Number(field(f, 'Index') ?? 0);
  const level = KV_WRITES.has(verb) ? 'write' : 'read';
  authorize(authz, 'key', key, level);
  switch (verb) {
    case 'set':
      return [{ KV: renderKv(kv.kvSet(w, idx, { key, value, flags }), false) }];
    case 'cas': {
      const entry = kv.kvCas(w, idx, { key, value, flags }, index);
      if (!entry) throw new OpError(`failed to set key ${JSON.stringify(key)}, index is stale`);
      return [{ KV: renderKv(entry, false) }];
    }
    case 'get': {
      const entry = w.kv.get(key);
      if (!entry) throw new OpError(`key ${JSON.stringify(key)} doesn't exist`);
      return [{ KV: renderKv(entry) }];
    }
    case 'get-or-empty': {
      const entry = w.kv.get(key);
      return [{ KV: entry ? renderKv(entry) : { LockIndex: 0, Key: key, Flags: 0, Value: null, CreateIndex: 0, ModifyIndex: 0 } }];
    }
    case 'get-tree':
      return kv.kvList(w, key).map((e) => ({ KV: renderKv(e) }));
    case 'check-index':
      return [{ KV: renderKv(kv.kvCheckIndex(w, key, index), false) }];
    case 'check-not-exists':
      if (w.kv.has(key)) throw new OpError(`key ${JSON.stringify(key)} exists`);
      return [];
    case 'delete':
      kv.kvDelete(w, idx, key);
      return [];
    case 'delete-cas':
      if (!kv.kvDeleteCas(w, idx, key, index)) throw new OpError(`failed to delete key ${JSON.stringify(key)}, index is stale`);
      return [];
    case 'delete-tree':
      kv.kvDeleteTree(w, idx, key);
      return [];
    default:
      throw new OpError(`unknown KV verb ${JSON.stringify(verb)}`);
  }
}

/** What a Node, Service or Check op does for each of its verbs. */
interface CatalogVerbs<E> {
  readonly set: () => E;
  readonly cas: () => E;
  readonly get: () => E;
  readonly delete: () => void;
  readonly 'delete-cas': () => void;
}

/** Runs one catalog op's verb: set, cas and get answer the entry (rendered under the op's name), deletes nothing. */
function catalogVerb<E>(kind: 'Node' | 'Service' | 'Check', verb: string, render: (entry: E) => Record<string, unknown>, verbs: CatalogVerbs<E>): unknown[] {
  switch (verb) {
    case 'set':
    case 'cas':
    case 'get':
      return [{ [kind]: render(verbs[verb]()) }];
    case 'delete':
    case 'delete-cas':
      verbs[verb]();
      return [];
    default:
      throw new OpError(`unknown ${kind} verb ${JSON.stringify(verb)}`);
  }
}

function nodeVerb(w: World, idx: number, f: Map<string, unknown>, authz: Authorizer, dc: string): unknown[] {
  const verb = String(field(f, 'Verb') ?? '');
  const node = decodeNode(field(f, 'Node'));
  authorize(authz, 'node', node.node, verb === 'get' ? 'read' : 'write');
  return catalogVerb('Node', verb, renderNode, {
    set: () => catalog.ensureNode(w, idx, node, dc),
    cas: () => catalog.ensureNodeCas(w, idx, node, dc),
    get: () => catalog.getNode(w, node.node),
    delete: () => catalog.deleteNode(w, idx, node.node),
    'delete-cas': () => catalog.deleteNodeCas(w, idx, node.node, node.modifyIndex ?? 0),
  });
}

function serviceVerb(w: World, idx: number, f: Map<string, unknown>, authz: Authorizer): unknown[] {
  const verb = String(field(f, 'Verb') ?? '');
  const node = String(field(f, 'Node') ?? '');
  const decoded = decodeService(field(f, 'Service'));
  // The txn endpoint copies api.AgentService.Weights (a struct): absent weights arrive as 0/0.
  const service = { ...decoded, weights: decoded.weights ?? { Passing: 0, Warning: 0 } };
  const name = service.service || w.services.get(node)?.get(service.id)?.service || service.id;
  authorize(authz, 'service', name, verb === 'get' ? 'read' : 'write');
  return catalogVerb('Service', verb, renderNodeService, {
    set: () => catalog.ensureService(w, idx, node, service),
    cas: () => catalog.ensureServiceCas(w, idx, node, service),
    get: () => catalog.getService(w, node, service.id),
    delete: () => catalog.deleteService(w, idx, node, service.id),
    'delete-cas': () => catalog.deleteServiceCas(w, idx, node, service.id, service.modifyIndex ?? 0),
  });
}

function checkVerb(w: World, idx: number, f: Map<string, unknown>, authz: Authorizer): unknown[] {
  const verb = String(field(f, 'Verb') ?? '');
  const check = decodeCheck(field(f, 'Check'));
  if (check.serviceId && verb !== 'get') {
    const service = w.services.get(check.node)?.get(check.serviceId);
    authorize(authz, 'service', service?.service ?? check.serviceId, 'write');
  } else {
    authorize(authz, 'node', check.node, verb === 'get' ? 'read' : 'write');
  }
  return catalogVerb('Check', verb, renderCheck, {
    set: () => catalog.ensureCheck(w, idx, check),
    cas: () => catalog.ensureCheckCas(w, idx, check),
    get: () => catalog.getCheck(w, check.node, check.checkId),
    delete: () => catalog.deleteCheck(w, idx, check.node, check.checkId),
    'delete-cas': () => catalog.deleteCheckCas(w, idx, check.node, check.checkId, check.modifyIndex ?? 0),
  });
}
