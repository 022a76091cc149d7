/**
 * SotW make-before-break: when a client NACKs the `+keep-stale` CDS response (new clusters plus
 * the ones going away), the rejected clusters must not be sent again until a new snapshot exists.
 */
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdsStream, type AdsStreamCall } from '../../src/relay/ads/ads-stream';
import { DEFAULT_LIMITS } from '../../src/relay/limits/limit-settings';
import { TYPE_URLS } from '../../src/relay/xds/kinds';
import { FakeSnapshotSource } from '../helpers/fake-snapshots';

interface Written {
  response: { kind: string; versionInfo?: string; nonce: string; resources: Array<{ name: string }> };
}

class RecordingCall extends EventEmitter implements AdsStreamCall {
  readonly written: Written[] = [];
  write(response: unknown): boolean {
    this.written.push(response as Written);
    return true;
  }
  end(): void {}
  getPeer(): string {
    return 'test';
  }
}

test('SotW: a NACKed keep-stale CDS response is not followed by the same clusters again', () => {
  const source = new FakeSnapshotSource({ world: { cluster: { a: 1, b: 1 } } });
  const call = new RecordingCall();
  const env = { source, hooks: undefined, minSendIntervalMs: 0, noncePrefix: 't.', limits: DEFAULT_LIMITS, now: () => Date.now(), opened() {}, closed() {} };
  const stream = new AdsStream(1, 'sotw', call, env as unknown as ConstructorParameters<typeof AdsStream>[3]);
  const node = { id: 'n', cluster: '', userAgentName: 'envoy', metadata: {} };
  call.emit('data', { mode: 'sotw', node, versionInfo: '', resourceNames: [], typeUrl: TYPE_URLS.cluster, responseNonce: '' });
  let last = call.written.at(-1)!.response;
  call.emit('data', { mode: 'sotw', versionInfo: last.versionInfo, resourceNames: [], typeUrl: TYPE_URLS.cluster, responseNonce: last.nonce });

  source.publish({ cluster: { a: 1, c: 1 } }); // b goes, c comes
  stream.pump();
  last = call.written.at(-1)!.response;
  assert.match(last.versionInfo ?? '', /\+keep-stale$/);
  assert.deepEqual(last.resources.map((r) => r.name).sort(), ['a', 'b', 'c']);
  const sentBefore = call.written.length;

  call.emit('data', { mode: 'sotw', versionInfo: 'old', resourceNames: [], typeUrl: TYPE_URLS.cluster, responseNonce: last.nonce, errorDetail: { code: 3, message: 'cluster c rejected' } });
  stream.pump();
  assert.equal(call.written.length, sentBefore, 'nothing is sent after the NACK until the snapshot changes');

  source.publish({ cluster: { a: 1, d: 1 } }); // a new snapshot is sent normally
  stream.pump();
  assert.ok(call.written.length > sentBefore);
  assert.ok(call.written.at(-1)!.response.resources.some((r) => r.name === 'd'));
});
