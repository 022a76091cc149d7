/**
 * The sandbox's HTTP servers' plumbing (the ARM emulator, the Consul double, the control server,
 * the Functions host, the demo backend): read a request's body, answer with a status and a body,
 * listen.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Server } from 'node:net';

/** Why `readBody` refused a body: it passed `maxBytes`. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`request body is larger than ${maxBytes} bytes`);
  }
}

/**
 * A cap on a request body. `overflow` says what happens past it: `'stop'` reads no further (the
 * request stream is destroyed, its socket kept for the answer; a control request has no business
 * being large), `'drain'` reads the rest and throws it away (the Functions host's 413).
 */
export interface BodyLimit {
  readonly maxBytes: number;
  readonly overflow: 'stop' | 'drain';
}

/**
 * The whole request body (empty when there is none); with a `limit`, rejects with
 * `BodyTooLargeError` when the body passes it.
 */
export async function readBody(req: IncomingMessage, limit?: BodyLimit): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early destroys the request stream but, for a server request, not its socket.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (limit === undefined || size <= limit.maxBytes) chunks.push(chunk);
    else if (limit.overflow === 'stop') throw new BodyTooLargeError(limit.maxBytes);
  }
  if (limit !== undefined && size > limit.maxBytes) throw new BodyTooLargeError(limit.maxBytes);
  return Buffer.concat(chunks);
}

/**
 * Answers with `body` and its Content-Length (and Content-Type when given); does nothing on a
 * response already ended or destroyed. Returns `status`, for the caller's request log.
 */
export function send(res: ServerResponse, status: number, contentType: string | undefined, body: string | Buffer): number {
  if (res.writableEnded || res.destroyed) return status;
  res.statusCode = status;
  if (contentType) res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
  return status;
}

/**
 * Listens on `host:port` (0: any free port) and resolves the port bound; rejects when listening
 * fails (port taken, address not local). Once listening, an error of the server (an accept failing
 * with EMFILE under a flood of connections) is ignored rather than thrown: the server accepts
 * again once descriptors are free, and the sandbox process does not die of a hostile client.
 */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
