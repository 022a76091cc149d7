import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nonceRandomPart } from '../../src/relay/ads/nonce-random';

test('nonce random parts: 12 bytes as base64url, never repeated, also across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5_000; i++) {
    const part = nonceRandomPart();
    assert.match(part, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(Buffer.from(part, 'base64url').length, 12);
    assert.ok(!seen.has(part), `repeated after ${i} parts`);
    seen.add(part);
  }
});
