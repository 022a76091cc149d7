import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { healthClientConstructor, INSTANCE_METADATA_KEY, startDemoBackend } from '../../src/sandbox/backends/demo-backend';

test('demo backend: HTTP and gRPC health answer with the instance name on the instance address', async (t) => {
  const backend = await startDemoBackend({ instanceName: 'web_7', address: '127.0.3.7', httpPort: 0, grpcPort: 0 });
  t.after(() => backend.close());

  const response = await fetch(`http://127.0.3.7:${backend.httpPort}/hello`);
  assert.equal(response.headers.get(INSTANCE_METADATA_KEY), 'web_7');
  assert.deepEqual(await response.json(), { instance: 'web_7', path: '/hello', serving: 'SERVING' });

  const Health = healthClientConstructor();
  const client = new Health(`127.0.3.7:${backend.grpcPort}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const check = () =>
    new Promise<{ status: string; instance: unknown }>((resolve, reject) => {
      let instance: unknown;
      const call = (client as unknown as { Check: (req: object, cb: (e: Error | null, r: { status: string }) => void) => grpc.ClientUnaryCall }).Check({ service: '' }, (error, reply) =>
        error ? reject(error) : resolve({ status: reply.status, instance }),
      );
      call.on('metadata', (md) => (instance = md.get(INSTANCE_METADATA_KEY)[0]));
    });
  assert.deepEqual(await check(), { status: 'SERVING', instance: 'web_7' });
  backend.setServing('NOT_SERVING');
  assert.equal((await check()).status, 'NOT_SERVING');
  assert.equal((await fetch(`http://127.0.3.7:${backend.httpPort}/`)).status, 503);
  assert.equal(backend.served(), 4);
});
