/** The demo backend's fail-half mode: every other unary call fails with UNAVAILABLE before any response header (so a client may retry it). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { healthClientConstructor, INSTANCE_METADATA_KEY, startDemoBackend } from '../../src/sandbox/backends/demo-backend';

test('setFailEvery(2): calls alternate between served and UNAVAILABLE (trailers only); 0 ends it; nonsense is refused', async (t) => {
  const backend = await startDemoBackend({ instanceName: 'orders_9', address: '127.0.0.1', grpcPort: 0 });
  t.after(() => backend.close());
  const Health = healthClientConstructor();
  const client = new Health(`127.0.0.1:${backend.grpcPort}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const check = () =>
    new Promise<{ outcome: string; headers: boolean }>((resolve) => {
      let headers = false;
      const call = (client as unknown as { Check: (req: object, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void) => grpc.ClientUnaryCall }).Check({ service: '' }, (error, reply) =>
        resolve({ outcome: error ? `${grpc.status[error.code]}` : (reply?.status ?? '?'), headers }),
      );
      call.on('metadata', (md) => (headers = md.get(INSTANCE_METADATA_KEY).length > 0));
    });

  backend.setFailEvery(2);
  const outcomes = [];
  for (let i = 0; i < 6; i++) outcomes.push(await check());
  assert.deepEqual(
    outcomes.map((o) => o.outcome),
    ['SERVING', 'UNAVAILABLE', 'SERVING', 'UNAVAILABLE', 'SERVING', 'UNAVAILABLE'],
  );
  // A failed call got no response headers (what makes it retryable for a gRPC client); a served one did.
  assert.deepEqual(
    outcomes.map((o) => o.headers),
    [true, false, true, false, true, false],
  );
  assert.equal(backend.failedOnPurpose(), 3);
  assert.equal(backend.served(), 3);

  backend.setFailEvery(0);
  for (let i = 0; i < 4; i++) assert.equal((await check()).outcome, 'SERVING');
  assert.equal(backend.failedOnPurpose(), 3);
  assert.throws(() => backend.setFailEvery(-1), { name: 'TypeError', message: 'setFailEvery takes a whole number 0 or more, got -1' });
  assert.throws(() => backend.setFailEvery(1.5), TypeError);
});
