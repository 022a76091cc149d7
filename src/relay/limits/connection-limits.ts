/**
 * The relay's gRPC server behind a listener of its own, so it can count connections per client
 * address (grpc-js has no such limit): `listenLimited` accepts each TCP connection itself and hands
 * it to grpc-js (`createConnectionInjector`). A connection beyond VMSS_MESH_RELAY_MAX_CONNECTIONS_PER_PEER
 * is still handed over, but every call on it is refused with RESOURCE_EXHAUSTED (by
 * `connectionLimitInterceptor`) and it is closed after `overLimitCloseMs`, so the client learns why.
 * Only `maxPendingOverLimit` such connections per address wait for that; further ones are closed at
 * once, so a flood of connections costs a bounded number of HTTP/2 sessions.
 */
import { createServer, isIPv4, type Server as NetServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { LIMIT_SETTING, type LimitName } from './limit-settings';

export interface ConnectionLimitOptions {
  readonly maxConnectionsPerPeer: number;
  /** How long a connection over the limit stays open to answer its calls. Default 1000 ms. */
  readonly overLimitCloseMs?: number;
  /** Connections over the limit per address that stay open to answer (the rest are closed at once). Default 4. */
  readonly maxPendingOverLimit?: number;
  /** Called for every connection over the limit (kept open to answer, or closed at once). */
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

/** Counts per client address; an address is forgotten when its count is back to 0. */
class AddressCounts {
  private readonly counts = new Map<string, number>();

  get(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  /** Counts one more for `address` until `socket` closes. */
  holdUntilClosed(address: string, socket: Socket): void {
    this.counts.set(address, this.get(address) + 1);
    socket.once('close', () => {
      const left = this.get(address) - 1;
      if (left <= 0) this.counts.delete(address);
      else this.counts.set(address, left);
    });
  }
}

export class ConnectionLimiter {
  private readonly open = new AddressCounts();
  private readonly pendingOverLimit = new AddressCounts();
  private readonly overLimit = new Map<string, string>();

  constructor(private readonly options: ConnectionLimitOptions) {}

  /** Accepts a connection: counts it, or marks it over the limit and closes it (soon, or at once). */
  admit(socket: Socket): void {
    const address = clientAddress(socket.remoteAddress);
    const open = this.open.get(address);
    if (open < this.options.maxConnectionsPerPeer) {
      this.open.holdUntilClosed(address, socket);
      return;
    }
    const key = peerKey(socket.remoteAddress, socket.remotePort);
    const detail = `${address} already has ${open} connections, the most one client address may open (${LIMIT_SETTING.maxConnectionsPerPeer} = ${this.options.maxConnectionsPerPeer})`;
    this.options.onLimitExceeded?.('connections_per_peer', key, detail);
    if (this.pendingOverLimit.get(address) >= (this.options.maxPendingOverLimit ?? 4)) {
      socket.destroy();
      return;
    }
    this.pendingOverLimit.holdUntilClosed(address, socket);
    this.overLimit.set(key, detail);
    socket.once('close', () => this.overLimit.delete(key));
    setTimeout(() => socket.destroy(), this.options.overLimitCloseMs ?? 1000).unref();
  }

  /** Why calls on this connection (grpc-js peer string) are refused, if they are. */
  refusal(peer: string): string | undefined {
    return this.overLimit.get(peer);
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
  /**
   * Stops accepting connections; resolves once every accepted connection is gone. Open ones are the
   * gRPC server's to shut down, then `destroyConnections` ends what is left.
   */
  close(): Promise<void>;
  /**
   * Destroys every accepted connection still open. Call it after the gRPC server's shutdown: grpc-js
   * only ends a connection (FIN), and one whose client does not read stays open until destroyed.
   */
  destroyConnections(): void;
}

/** Listens on host:port and hands every accepted connection to `server` through `limiter`. */
export async function listenLimited(server: grpc.Server, limiter: ConnectionLimiter, host: string, port: number): Promise<LimitedListener> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const accepted = new Set<Socket>();
  const listener: NetServer = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => undefined); // a reset connection is the HTTP/2 session's business
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    limiter.admit(socket);
    if (!socket.destroyed) injector.injectConnection(socket);
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
    destroyConnections: () => {
      for (const socket of accepted) socket.destroy();
    },
  };
}
