/**
 * The reconcile bench's world, in its own process so its CPU never counts as the app's: the ARM
 * emulator (one resource group, `sets` scale sets of `perSet` instances, half Uniform half
 * Flexible) and the Consul double behind a counting proxy (requests by kind, response bytes,
 * operations per `/v1/txn`). The proxy's URL stays put while `resetConsul` swaps in an empty
 * double, so "first sweep" runs repeat without restarting anything the app points at.
 *
 * Driven over IPC by bench/reconcile-bench.ts (messages: `WorldRequest` → `WorldReply`).
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startArmEmulator } from '../src/sandbox/arm-emulator';
import type { ArmEmulator } from '../src/sandbox/arm-emulator';
import { startConsulDouble } from '../src/sandbox/consul-double';
import type { ConsulDouble } from '../src/sandbox/consul-double';

export interface WorldSpec {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly sets: number;
  readonly perSet: number;
  /** Items per ARM list page (ARM's own pages hold up to a few hundred; the figures: 100). */
  readonly pageSize: number;
}

export interface ConsulCounts {
  readonly requests: number;
  /** `PUT /v1/txn`, `PUT /v1/kv/<first segment>…`, `DELETE …`: method and path with IDs cut. */
  readonly writesByKind: Record<string, number>;
  readonly writes: number;
  readonly txnCalls: number;
  readonly txnOps: number[];
  /** Operations inside transactions by verb (`KV set`, `Node set`, `Service delete`, …). */
  readonly txnOpsByVerb: Record<string, number>;
  readonly readsByKind: Record<string, number>;
  readonly consistentReads: number;
  readonly consistentReadBytes: number;
  readonly readBytes: number;
  /** Response bytes of reads by kind (as `readsByKind`). */
  readonly readBytesByKind: Record<string, number>;
}

export interface WorldCounts {
  readonly armByRoute: Record<string, number>;
  readonly armRequests: number;
  readonly consul: ConsulCounts;
  /** CPU the world process spent since the last counts (µs): emulator + double + proxy. */
  readonly worldCpuMicros: number;
}

export type WorldRequest =
  | { readonly id: number; readonly kind: 'setup'; readonly spec: WorldSpec }
  | { readonly id: number; readonly kind: 'resetConsul' }
  | { readonly id: number; readonly kind: 'counts' }
  | { readonly id: number; readonly kind: 'profile'; readonly action: 'start' | 'stop'; readonly file?: string }
  | { readonly id: number; readonly kind: 'close' };

export type WorldReply =
  | { readonly id: number; readonly ok: true; readonly armUrl?: string; readonly caPem?: string; readonly consulUrl?: string; readonly counts?: WorldCounts }
  | { readonly id: number; readonly ok: false; readonly error: string };

function emptyCounts(): { -readonly [K in keyof ConsulCounts]: ConsulCounts[K] } {
  return { requests: 0, writesByKind: {}, writes: 0, txnCalls: 0, txnOps: [], txnOpsByVerb: {}, readsByKind: {}, consistentReads: 0, consistentReadBytes: 0, readBytes: 0, readBytesByKind: {} };
}

const bump = (map: Record<string, number>, key: string, by = 1): void => {
  map[key] = (map[key] ?? 0) + by;
};

/** `/v1/kv/mesh/marker/abc` → `/v1/kv/mesh/…`; `/v1/catalog/node-services/x` → `/v1/catalog/node-services/…`. */
function kindOf(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return `/${parts.slice(0, 3).join('/')}${parts.length > 3 ? '/…' : ''}`;
}

function txnVerbs(body: string): string[] {
  try {
    const ops = JSON.parse(body) as unknown;
    if (!Array.isArray(ops)) return [];
    return ops.map((op: unknown) => {
      const [type, inner] = Object.entries(op as Record<string, { Verb?: string }>)[0] ?? ['?', {}];
      return `${type} ${inner?.Verb ?? '?'}`;
    });
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  let arm: ArmEmulator | undefined;
  let double: ConsulDouble | undefined;
  let counts = emptyCounts();
  let cpuMark = process.cpuUsage();
  const agent = new Agent({ keepAlive: true });
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://proxy.invalid');
      const method = req.method ?? 'GET';
      const target = new URL(double!.url);
      counts.requests += 1;
      const isWrite = method !== 'GET' && method !== 'HEAD';
      if (isWrite) {
        counts.writes += 1;
        bump(counts.writesByKind, `${method} ${kindOf(url.pathname)}`);
        if (url.pathname === '/v1/txn') {
          const verbs = txnVerbs(body.toString('utf8'));
          counts.txnCalls += 1;
          counts.txnOps.push(verbs.length);
          for (const v of verbs) bump(counts.txnOpsByVerb, v);
        }
      }
      const readKind = `${method} ${kindOf(url.pathname)}${url.searchParams.has('consistent') ? ' (consistent)' : ''}`;
      if (!isWrite) bump(counts.readsByKind, readKind);
      const consistent = !isWrite && url.searchParams.has('consistent');
      if (consistent) counts.consistentReads += 1;
      const upstream = httpRequest(
        { agent, host: target.hostname, port: target.port, method, path: req.url, headers: { ...req.headers, host: target.host } },
        (answer) => {
          // Hop-by-hop headers stay with the hop: the double's `Keep-Alive: timeout=1` would make
          // the app's agent drop every socket after one request (see the server's keepAliveTimeout).
          const { connection: _connection, 'keep-alive': _keepAlive, ...headers } = answer.headers;
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.on('data', (c: Buffer) => {
            if (!isWrite) {
              counts.readBytes += c.length;
              bump(counts.readBytesByKind, readKind, c.length);
            }
            if (consistent) counts.consistentReadBytes += c.length;
            res.write(c);
          });
          answer.on('end', () => res.end());
        },
      );
      upstream.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(error));
      });
      upstream.end(body);
    });
  });
  // As Consul's own HTTP server (Go's net/http: no idle timeout, no Keep-Alive hint), the proxy keeps
  // the app's connections open. Node's agent reuses a socket only while the server's Keep-Alive
  // hint allows (hint − 1 s): the double's 1 s hint meant a new TCP connection per request,
  // ~700 in a first sweep, which a real Consul never costs the app.
  proxy.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  const consulUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const { Session } = await import('node:inspector/promises');
  let session: InstanceType<typeof Session> | undefined;

  const handle = async (msg: WorldRequest): Promise<WorldReply> => {
    switch (msg.kind) {
      case 'setup': {
        const { spec } = msg;
        arm = await startArmEmulator({ pageSize: spec.pageSize, rateLimits: false, requestLogLimit: 1_000_000 });
        arm.world.createResourceGroup(spec.subscriptionId, spec.resourceGroup);
        for (let i = 0; i < spec.sets; i += 1) {
          const flexible = i % 2 === 1;
          const name = `${flexible ? 'flex' : 'uni'}-${String(i).padStart(2, '0')}`;
          arm.world.createScaleSet({
            subscriptionId: spec.subscriptionId,
            resourceGroup: spec.resourceGroup,
            name,
            capacity: spec.perSet,
            orchestrationMode: flexible ? 'Flexible' : 'Uniform',
            zones: ['1', '2', '3'],
            tags: { 'vmss-mesh-service': `svc-${name}`, 'vmss-mesh-port': '8080' },
          });
        }
        await arm.world.settled();
        double = await startConsulDouble();
        return { id: msg.id, ok: true, armUrl: arm.url, caPem: arm.caPem, consulUrl };
      }
      case 'resetConsul': {
        await double?.close();
        double = await startConsulDouble();
        return { id: msg.id, ok: true };
      }
      case 'counts': {
        const cpu = process.cpuUsage(cpuMark);
        cpuMark = process.cpuUsage();
        const armByRoute = arm?.requests.countsByRoute() ?? {};
        arm?.requests.clear();
        const consul = counts;
        counts = emptyCounts();
        return {
          id: msg.id,
          ok: true,
          counts: { armByRoute, armRequests: Object.values(armByRoute).reduce((a, b) => a + b, 0), consul, worldCpuMicros: cpu.user + cpu.system },
        };
      }
      case 'profile': {
        if (msg.action === 'start') {
          session = new Session();
          session.connect();
          await session.post('Profiler.enable');
          await session.post('Profiler.start');
        } else if (session) {
          const { profile } = await session.post('Profiler.stop');
          const { writeFileSync } = await import('node:fs');
          if (msg.file) writeFileSync(msg.file, JSON.stringify(profile));
          session.disconnect();
          session = undefined;
        }
        return { id: msg.id, ok: true };
      }
      case 'close': {
        await double?.close();
        await arm?.close();
        agent.destroy();
        await new Promise<void>((resolve) => {
          proxy.close(() => resolve());
          proxy.closeAllConnections();
        });
        return { id: msg.id, ok: true };
      }
    }
  };

  process.on('message', (raw) => {
    const msg = raw as WorldRequest;
    handle(msg).then(
      (reply) => {
        process.send?.(reply);
        if (msg.kind === 'close') process.disconnect();
      },
      (error: unknown) => process.send?.({ id: msg.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
}

void main();
