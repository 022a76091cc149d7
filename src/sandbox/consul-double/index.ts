/**
 * A Consul HTTP API test double: a real HTTP server following Consul's API for what vmss-mesh uses
 * (catalog, health, KV with CAS, transactions, blocking queries, ACL tokens, `?filter=` expressions).
 * What it does not implement (a query parameter, an X-Consul-* header, a body field) it refuses with
 * 400 instead of ignoring (docs/checks-consul.md). The contract tests in
 * test/integration/consul-contract.test.ts run against it and against a real Consul, so it stays
 * honest. Start one per test: `const consul = await startConsulDouble(); t.after(consul.close)`.
 */
export { startConsulDouble, parseGoDuration } from './server';
export type { ConsulDouble, ConsulDoubleOptions } from './server';
export type { AfterWriteHook, CommitObserver, CommitRecord, ConsulDoubleState, DropReply, HookReply, LoggedRequest, RequestHook, RequestInfo, WorldSnapshot, KvSnapshotEntry } from './core';
export type { AclAccess, AclOptions, AclTokenSpec } from './acl';
export type { CheckEntry, KvEntry, NodeEntry, ServiceEntry } from './catalog-kv-state';
