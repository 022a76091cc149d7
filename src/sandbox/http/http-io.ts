/**
 * The sandbox's HTTP servers' plumbing (the Consul double; the ARM emulator and the other doubles
 * can take theirs from here): read a request's body, answer with a status and a body, listen.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Server } from 'node:net';

/** The whole request body (empty when there is none). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
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
 * fails (port taken, address not local). The rejecting listener is removed once listening.
 */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
