/**
 * The random part of every response nonce (ads-stream.ts): 12 bytes from the CSPRNG, base64url.
 * Drawn from a pool filled 1,024 nonces at a time: one randomBytes call per response cost
 * ~15 µs at 10,000 streams (a call into OpenSSL and a Buffer each time), as much as encoding the
 * response. The bytes are the same CSPRNG output, used once each.
 */
import { randomFillSync } from 'node:crypto';

const BYTES = 12;
const pool = Buffer.alloc(BYTES * 1024);
let offset = pool.length;

export function nonceRandomPart(): string {
  if (offset + BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const part = pool.toString('base64url', offset, offset + BYTES);
  offset += BYTES;
  return part;
}
