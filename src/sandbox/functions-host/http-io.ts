/**
 * The HTTP side of the local Functions host: reading bodies, request targets as URLs, JSON with
 * messages fit for a client, and answers as the Functions host gives them (a one-line plain-text
 * message for errors, never a stack trace), including for requests node:http cannot parse.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { send as sendBody } from '../http/http-io';

export const MAX_BODY_BYTES = 64 * 1024 * 1024; // Event Grid caps a delivery at 1 MB; leave room for tests.

/**
 * Requests node:http cannot parse (bad request line, header or framing) never reach the request
 * handler: answer them with a message too, instead of node's bare status line.
 */
export function answerClientError(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) return void socket.destroy();
  const [status, reason, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request headers too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request not received in time']
        : [400, 'Bad Request', `malformed HTTP request (${error.code ?? 'parse error'})`];
  const head = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${head ? '' : message}`);
}

/** The request target as a URL, or undefined when it is not one (absolute-form targets keep only their path and query). */
export function requestUrl(req: http.IncomingMessage): URL | undefined {
  const address = req.socket.localAddress ?? '127.0.0.1';
  const fallback = `http://${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort ?? 0}`;
  const host = req.headers.host;
  let base = fallback;
  if (host !== undefined && URL.canParse(`http://${host}`)) {
    const candidate = new URL(`http://${host}`);
    // Only a bare host[:port] becomes the base: "user@host" or "host/path" in a Host header is not an authority we serve.
    if (candidate.username === '' && candidate.password === '' && candidate.pathname === '/' && `${candidate.host}`.toLowerCase() === host.toLowerCase()) base = candidate.origin;
  }
  let target = req.url ?? '/';
  if (!target.startsWith('/')) {
    // Absolute form ("http://host/path"): serve its path and query.
    if (!URL.canParse(target)) return undefined;
    const absolute = new URL(target);
    if (absolute.protocol !== 'http:' && absolute.protocol !== 'https:') return undefined;
    target = `${absolute.pathname}${absolute.search}`;
  }
  // Appended to the origin, "//x/y" stays a path (resolved against a base it would name host x).
  return URL.canParse(`${base}${target}`) ? new URL(`${base}${target}`) : undefined;
}

export function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export type JsonResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** JSON.parse without the stack: the message is what a client may see. `empty` is what an empty body means (none: an error). */
export function parseJson(body: Buffer, empty?: string): JsonResult {
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '' && empty !== undefined) return { ok: true, value: JSON.parse(empty) as unknown };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

export function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** An error answer: a one-line plain-text message, as the Functions host and its Event Grid extension answer. */
export function sendMessage(res: http.ServerResponse, status: number, message: string): void {
  sendBody(res, status, 'text/plain; charset=utf-8', message);
}

/** A JSON answer, or a bare status when `json` is undefined. */
export function send(res: http.ServerResponse, status: number, json: unknown): void {
  if (json === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  sendBody(res, status, 'application/json; charset=utf-8', JSON.stringify(json));
}
