/**
 * The relay's gRPC server behind a listener of its own, so it can count connections per client
 * address (grpc-js has no such limit): `listenLimited` accepts each TCP connection itself and hands
 * it to grpc-js (`createConnectionInjector`). A connection beyond VMSS_MESH_RELAY_MAX_CONNECTIONS_PER_PEER
 * is still handed over, but every call on it is refused with RESOURCE_EXHAUSTED (by
 * `connectionLimitInterceptor`) and it is closed after `overLimitCloseMs`, so the client learns why.
 *
 * It also closes the connection of a stream that hit its send backlog and still does not read:
 * grpc-js cannot reset one HTTP/2 stream from outside, and the unread responses stay buffered until
 * the stream's connection goes.
 */
import { createServer, isIPv4, type Server as NetServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { LIMIT_SETTING, type LimitName } from './limit-settings';

export interface ConnectionLimitOptions {
  readonly maxConnectionsPerPeer: number;
  /** How long a connection over the limit stays open to answer its calls. Default 1000 ms. */
  readonly overLimitCloseMs?: number;
  readonly onLimitExceeded?: (limit: LimitName, peer: string, detail: string) => void;
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are one client. */
function clientAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** grpc-js's peer string for a connection: `address:port`. */
function peerKey(address: string | undefined, port: number | undefined): string {
  return `${address ?? 'unknown'}:${port ?? 0}`;
}

export class ConnectionLimiter {
  private readonly perAddress = new Map<string, number>();
  private readonly sockets = new Map<string, Socket>();
  private readonly overLimit = new Map<string, string>();

  constructor(private readonly options: ConnectionLimitOptions) {}

  /** Accepts a connection: counts it, or marks it over the limit and closes it soon. */
  admit(socket: Socket): void {
    const address = clientAddress(socket.remoteAddress);
    const key = peerKey(socket.remoteAddress, socket.remotePort);
    const open = this.perAddress.get(address) ?? 0;
    this.sockets.set(key, socket);
    socket.once('close', () => this.sockets.delete(key));
    if (open >= this.options.maxConnectionsPerPeer) {
      const detail = `${address} already has ${open} connections, the most one client address may open (${LIMIT_SETTING.maxConnectionsPerPeer} = ${this.options.maxConnectionsPerPeer})`;
      this.overLimit.set(key, detail);
      socket.once('close', () => this.overLimit.delete(key));
      this.options.onLimitExceeded?.('connections_per_peer', key, detail);
      setTimeout(() => socket.destroy(), this.options.overLimitCloseMs ?? 1000).unref();
      return;
    }
    this.perAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
  }

  /** Why calls on this connection (grpc-js peer string) are refused, if they are. */
  refusal(peer: string): string | undefined {
    return this.overLimit.get(peer);
  }

  /** Closes the connection of `peer` after `graceMs` if it is still open. */
  closeLater(peer: string, graceMs: number): void {
    setTimeout(() => this.sockets.get(peer)?.destroy(), graceMs).unref();
  }

  /** Open connections (within and over the limit). */
  get connections(): number {
    return this.sockets.size;
  }
}

/** Refuses every call on a connection the limiter marked over its limit. */
export function connectionLimitInterceptor(limiter: ConnectionLimiter): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const info = call.getConnectionInfo();
            const refusal = limiter.refusal(peerKey(info.remoteAddress, info.remotePort));
            if (refusal) call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: refusal });
            else mdNext(metadata);
          },
        }),
    });
}

export interface LimitedListener {
  readonly port: number;
  /** Stops accepting connections (open ones are the gRPC server's to shut down). */
  close(): Promise<void>;
}

/** Listens on host:port and hands every accepted connection to `server` through `limiter`. */
export async function listenLimited(server: grpc.Server, limiter: ConnectionLimiter, host: string, port: number): Promise<LimitedListener> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener: NetServer = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => undefined); // a reset connection is the HTTP/2 session's business
    limiter.admit(socket);
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host, port }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const address = listener.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => listener.close(() => resolve())),
  };
}
