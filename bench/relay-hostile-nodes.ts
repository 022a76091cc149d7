/**
 * Memory per ADS stream when every client announces a hostile 3.5 MB node (1 MB node.cluster,
 * 1 MB user_agent_name, 1.5 MB of metadata). The server runs here with the relay's gRPC limits
 * (except a receive limit raised to 8 MiB so the 3.5 MB nodes reach the stream); the clients run
 * in a child process. Prints the server's retained heap and external memory per stream after GC.
 * Run: node --expose-gc --import tsx bench/relay-hostile-nodes.ts   (STREAMS=200 by default;
 * HOSTILE_SHAPE=metadata puts the 3.5 MB in metadata, so the streams are accepted, not refused).
 */
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createAdsService } from '../src/relay/ads/ads-service';
import { FakeSnapshotSource } from '../test/helpers/fake-snapshots';
import { RawAdsClient, until, type RawSotwStream, type TestNode } from '../test/helpers/raw-ads-client';
import { writeResults, type Figure } from './results';

const STREAMS = Number(process.env.STREAMS ?? 200);
const MAX_MESSAGE = 8 * 1024 * 1024;

async function settledMemory(): Promise<{ heap: number; external: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external };
}

async function server(): Promise<void> {
  const source = new FakeSnapshotSource({ world: { cluster: { a: 1 } }, ready: true });
  const service = createAdsService(source, { minSendIntervalMs: 0 });
  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE });
  grpcServer.addService(service.definition, service.implementation);
  const port = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const before = await settledMemory();
  const child = fork(__filename, [], { env: { ...process.env, HOSTILE_ROLE: 'client', HOSTILE_PORT: String(port) }, execArgv: ['--import', 'tsx'] });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  const after = await settledMemory();
  const perStream = (a: number, b: number) => Math.round((a - b) / STREAMS);
  const shape = process.env.HOSTILE_SHAPE === 'metadata' ? '3.5 MB in unused metadata (accepted)' : '3.5 MB in kept fields (refused)';
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const heap = perStream(after.heap, before.heap);
  const buffers = perStream(after.external, before.external);
  const open = service.streamCount();
  console.log(`hostile nodes, ${shape}: ${STREAMS} streams, ${open} open; per stream: heap ${kib(heap)}, buffers ${kib(buffers)}`);
  recordFigure(
    process.env.HOSTILE_SHAPE === 'metadata'
      ? {
          figure: `Hostile 3.5 MB nodes, in metadata the relay does not keep (${STREAMS} streams, accepted): memory per stream after GC`,
          goal: 'bounded (node ≤ 16 KiB kept; grpc-js holds the last message until the next)',
          measured: `heap ${kib(heap)}, buffers ${kib(buffers)}; ${open} open`,
          verdict: 'info',
          value: heap / 1024,
          unit: 'KiB',
          details: { streams: STREAMS, open, heapPerStream: heap, buffersPerStream: buffers },
        }
      : {
          figure: `Hostile 3.5 MB nodes, in kept fields (${STREAMS} streams): refused, memory per stream after GC`,
          goal: 'all refused; < 2 KiB heap per stream',
          measured: `heap ${kib(heap)}, buffers ${kib(buffers)}; ${open} open`,
          verdict: open === 0 && heap < 2048 ? 'met' : 'missed',
          value: heap / 1024,
          unit: 'KiB',
          details: { streams: STREAMS, open, heapPerStream: heap, buffersPerStream: buffers },
        },
  );
  child.kill();
  grpcServer.forceShutdown();
}

/**
 * `npm run bench:hostile` runs this file twice (kept fields, then HOSTILE_SHAPE=metadata): the
 * first run writes bench/results/hostile.json, the second adds its figure to it.
 */
function recordFigure(figure: Figure): void {
  const file = path.join(__dirname, 'results', 'hostile.json');
  let earlier: Figure[] = [];
  if (process.env.HOSTILE_SHAPE === 'metadata' && existsSync(file)) {
    earlier = ((JSON.parse(readFileSync(file, 'utf8')) as { figures?: Figure[] }).figures ?? []).filter((f) => !f.figure.includes('in metadata'));
  }
  console.log(`written: ${writeResults('hostile', [...earlier, figure])}`);
}

async function clients(port: string): Promise<void> {
  // HOSTILE_SHAPE=metadata: the same 3.5 MB, but in metadata the relay does not keep (the stream is accepted).
  const node: TestNode =
    process.env.HOSTILE_SHAPE === 'metadata'
      ? { id: 'hostile', cluster: 'c'.repeat(8_000), user_agent_name: 'gRPC Node', metadata: { vmss_mesh_profile: 'proxyless-grpc', a: 'a'.repeat(3_500_000) } }
      : { id: 'hostile', cluster: 'c'.repeat(1_000_000), user_agent_name: 'u'.repeat(1_000_000), metadata: { a: 'a'.repeat(500_000), b: 'b'.repeat(500_000), c: 'd'.repeat(500_000) } };
  const streams: RawSotwStream[] = [];
  // A connection per 50 streams: the relay's default allows 100 streams per connection.
  let client: RawAdsClient | undefined;
  for (let i = 0; i < STREAMS; i++) {
    if (i % 50 === 0) client = new RawAdsClient(`127.0.0.1:${port}`, { 'grpc.max_send_message_length': MAX_MESSAGE, 'grpc.use_local_subchannel_pool': 1 });
    const s = client!.sotw(node);
    s.send({ kind: 'cluster', names: [] });
    streams.push(s);
  }
  await until(() => streams.every((s) => s.received.length > 0 || s.ended), 300_000, 'every stream answered or ended');
  // HOSTILE_ACK=1: each stream then ACKs, as real clients do (grpc-js frees a call's last message only when the next arrives).
  if (process.env.HOSTILE_ACK === '1') for (const s of streams) if (s.received[0]) s.ack(s.received[0], []);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  process.send!('done');
}

if (process.env.HOSTILE_ROLE === 'client') void clients(process.env.HOSTILE_PORT!);
else void server();
