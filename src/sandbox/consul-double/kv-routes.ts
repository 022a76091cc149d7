/**
 * KV and transaction routes of the double: `/v1/kv/<key>` (GET with ?recurse / ?keys / ?raw,
 * PUT with ?cas / ?flags, DELETE with ?cas / ?recurse) and `PUT /v1/txn`.
 */
import { parseJsonBody } from './decode';
import * as kv from './kv-ops';
import type { ReadAnswer } from './queries';
import { renderKv } from './render';
import { READ_PARAMS } from './strict-request';
import type { Route, RouteContext } from './route';
import { json, read } from './route';
import { decodeTxnBody, runTxn, txnHasWrites } from './txn';
import type { TxnOutcome } from './txn';
import { OpError } from './catalog-kv-state';
import type { World } from './catalog-kv-state';

function uintParam(ctx: RouteContext, name: string): number | undefined {
  const raw = ctx.params.get(name);
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw)) throw new OpError(`Invalid ${name} value: ${JSON.stringify(raw)}`, 400);
  return Number(raw);
}

function kvGet(ctx: RouteContext, key: string) {
  const { authz } = ctx;
  if (ctx.params.has('keys')) {
    const separator = ctx.params.get('separator') ?? '';
    return read((): ReadAnswer => {
      const w = ctx.core.world;
      const all = kv.kvList(w, key).map((e) => e.key);
      const visible = all.filter((k) => authz.allowed('key', k, 'read'));
      const keys = [...new Set(visible.map((k) => collapse(k, key, separator)))];
      const index = kv.kvReadIndex(w, key, true);
      if (keys.length === 0 && key !== '') return { index, status: 404, empty: true, filtered: visible.length < all.length };
      return { index, json: keys, filtered: visible.length < all.length };
    });
  }
  if (ctx.params.has('recurse')) {
    return read((): ReadAnswer => {
      const w = ctx.core.world;
      const all = kv.kvList(w, key);
      const visible = all.filter((e) => authz.allowed('key', e.key, 'read'));
      const index = kv.kvReadIndex(w, key, true);
      if (visible.length === 0) return { index, status: 404, empty: true, filtered: visible.length < all.length };
      return { index, json: visible.map((e) => renderKv(e)), filtered: visible.length < all.length };
    });
  }
  if (!authz.allowed('key', key, 'read')) throw new OpError(authz.denied('key', key, 'read'), 403);
  const raw = ctx.params.has('raw');
  return read((): ReadAnswer => {
    const w = ctx.core.world;
    const entry = w.kv.get(key);
    const index = kv.kvReadIndex(w, key, false);
    if (!entry) return { index, status: 404, empty: true };
    if (raw) return { index, raw: Buffer.from(entry.value ?? '', 'base64') };
    return { index, json: [renderKv(entry)] };
  });
}

/** `?keys&separator=/`: keys below a separator collapse into their "directory". */
function collapse(key: string, prefix: string, separator: string): string {
  if (!separator) return key;
  const at = key.indexOf(separator, prefix.length);
  return at < 0 ? key : key.slice(0, at + separator.length);
}

function kvPut(ctx: RouteContext, key: string) {
  if (key === '') throw new OpError('Missing key name', 400);
  if (!ctx.authz.allowed('key', key, 'write')) throw new OpError(ctx.authz.denied('key', key, 'write'), 403);
  const cas = uintParam(ctx, 'cas');
  const flags = uintParam(ctx, 'flags') ?? 0;
  const value = ctx.body.length > 0 ? ctx.body.toString('base64') : null;
  const ok = ctx.core.commit((w, idx) => (cas === undefined ? (kv.kvSet(w, idx, { key, value, flags }), true) : kv.kvCas(w, idx, { key, value, flags }, cas) !== null));
  return json(ok);
}

function kvDeleteRoute(ctx: RouteContext, key: string) {
  const recurse = ctx.params.has('recurse');
  if (key === '' && !recurse) throw new OpError('Missing key name', 400);
  if (!ctx.authz.allowed('key', key, 'write')) throw new OpError(ctx.authz.denied('key', key, 'write'), 403);
  const cas = uintParam(ctx, 'cas');
  if (recurse && cas !== undefined) throw new OpError('Conflicting flags: recurse and cas', 400);
  const ok = ctx.core.commit((w, idx) => {
    if (recurse) kv.kvDeleteTree(w, idx, key);
    else if (cas !== undefined) return kv.kvDeleteCas(w, idx, key, cas);
    else kv.kvDelete(w, idx, key);
    return true;
  });
  return json(ok);
}

function txn(ctx: RouteContext) {
  const body = parseJsonBody(ctx.body.toString('utf8'), 'Failed to parse body');
  const ops = decodeTxnBody(body, ctx.config.maxTxnOps);
  const writes = txnHasWrites(ops);
  const run = (w: World, idx: number): TxnOutcome => runTxn(w, idx, ops, ctx.authz, ctx.config.datacenter);
  // A read-only transaction changes nothing and takes no index: it runs inside a write that is
  // never kept, so even a buggy read could not leave a trace.
  const outcome = writes ? ctx.core.attempt(run, (o) => o.kind === 'committed').result : ctx.core.world.transact(() => run(ctx.core.world, ctx.core.world.index), () => false).result;
  // Only read-only transactions carry leader headers (Consul's fast path for reads).
  const headers: Record<string, string> = writes ? {} : { 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' };
  if (outcome.kind === 'rolled-back') return json({ Results: null, Errors: outcome.errors }, 409, headers);
  return json({ Results: outcome.results, Errors: null }, 200, headers);
}

export const kvRoutes: readonly Route[] = [
  {
    name: '/v1/kv/:key',
    methods: ['GET', 'PUT', 'DELETE'],
    params: { GET: [...READ_PARAMS, 'recurse', 'keys', 'separator', 'raw'], PUT: ['cas', 'flags'], DELETE: ['cas', 'recurse'] },
    pattern: /^\/v1\/kv\/?(.*)$/,
    handle: (ctx) => {
      const key = ctx.args[0] ?? '';
      if (ctx.method === 'GET') return kvGet(ctx, key);
      if (ctx.method === 'PUT') return kvPut(ctx, key);
      return kvDeleteRoute(ctx, key);
    },
  },
  { name: '/v1/txn', methods: ['PUT'], params: {}, pattern: /^\/v1\/txn$/, handle: txn },
];

