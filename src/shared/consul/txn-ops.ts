/**
 * Consul transaction operations (`PUT /v1/txn` bodies) as typed values, and builders for the few
 * we use. Shapes follow Consul's Transaction API: one of KV / Node / Service / Check per op.
 */

export type KvVerb = 'set' | 'cas' | 'get' | 'get-tree' | 'check-index' | 'check-not-exists' | 'delete' | 'delete-cas' | 'delete-tree';
export type CatalogVerb = 'set' | 'cas' | 'get' | 'delete' | 'delete-cas';

export interface KvTxnOp {
  readonly KV: { readonly Verb: KvVerb; readonly Key: string; readonly Value?: string | null; readonly Flags?: number; readonly Index?: number };
}
export interface NodeTxnOp {
  readonly Node: {
    readonly Verb: CatalogVerb;
    readonly Node: { readonly Node: string; readonly Address?: string; readonly Meta?: Readonly<Record<string, string>>; readonly ModifyIndex?: number };
  };
}
export interface ServiceTxnOp {
  readonly Service: {
    readonly Verb: CatalogVerb;
    readonly Node: string;
    readonly Service: {
      readonly ID: string;
      readonly Service?: string;
      readonly Tags?: readonly string[];
      readonly Port?: number;
      readonly Meta?: Readonly<Record<string, string>>;
      readonly Weights?: { readonly Passing: number; readonly Warning: number };
    };
  };
}
export interface CheckTxnOp {
  readonly Check: {
    readonly Verb: CatalogVerb;
    readonly Check: {
      readonly Node: string;
      readonly CheckID: string;
      readonly Name?: string;
      readonly Status?: string;
      readonly Output?: string;
      readonly Notes?: string;
    };
  };
}
export type TxnOp = KvTxnOp | NodeTxnOp | ServiceTxnOp | CheckTxnOp;

const base64 = (value: string): string => Buffer.from(value, 'utf8').toString('base64');

export const kvOps = {
  checkIndex: (key: string, index: number): KvTxnOp => ({ KV: { Verb: 'check-index', Key: key, Index: index } }),
  checkNotExists: (key: string): KvTxnOp => ({ KV: { Verb: 'check-not-exists', Key: key } }),
  set: (key: string, value: string): KvTxnOp => ({ KV: { Verb: 'set', Key: key, Value: base64(value) } }),
  /** Index 0: create only. */
  cas: (key: string, value: string, index: number): KvTxnOp => ({ KV: { Verb: 'cas', Key: key, Value: base64(value), Index: index } }),
  deleteCas: (key: string, index: number): KvTxnOp => ({ KV: { Verb: 'delete-cas', Key: key, Index: index } }),
};

export const nodeOps = {
  /** ModifyIndex 0: create only (fails when any node, ours or not, holds the name). */
  cas: (node: string, address: string, meta: Readonly<Record<string, string>>, modifyIndex: number): NodeTxnOp => ({
    Node: { Verb: 'cas', Node: { Node: node, Address: address, Meta: meta, ModifyIndex: modifyIndex } },
  }),
  /** Removes the node with its services and checks, only if unchanged since `modifyIndex`. */
  deleteCas: (node: string, modifyIndex: number): NodeTxnOp => ({ Node: { Verb: 'delete-cas', Node: { Node: node, ModifyIndex: modifyIndex } } }),
};

export const serviceOps = {
  set: (node: string, service: { id: string; name: string; tags: readonly string[]; port: number; meta: Readonly<Record<string, string>> }): ServiceTxnOp => ({
    // Weights explicit: Consul's txn endpoint would otherwise store 0/0 (the zero value), not 1/1.
    Service: { Verb: 'set', Node: node, Service: { ID: service.id, Service: service.name, Tags: service.tags, Port: service.port, Meta: service.meta, Weights: { Passing: 1, Warning: 1 } } },
  }),
  delete: (node: string, id: string): ServiceTxnOp => ({ Service: { Verb: 'delete', Node: node, Service: { ID: id } } }),
};

export const checkOps = {
  set: (node: string, check: { id: string; name: string; status: string; output: string; notes?: string }): CheckTxnOp => ({
    Check: { Verb: 'set', Check: { Node: node, CheckID: check.id, Name: check.name, Status: check.status, Output: check.output, Notes: check.notes ?? '' } },
  }),
  delete: (node: string, id: string): CheckTxnOp => ({ Check: { Verb: 'delete', Check: { Node: node, CheckID: id } } }),
};
