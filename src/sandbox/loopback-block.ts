/**
 * Each sandbox on a machine takes a loopback block of its own for its instances' addresses
 * (127.B.0.0/16: the first sandbox gets 127.0.x.y, a second one running at the same time
 * 127.1.x.y, …). Instance backends listen on fixed ports (8080, the service's port) at their
 * instance's address, so two sandboxes handing out the same addresses — an `npm start` next to a
 * test run, or two test files at once — would bind each other's sockets, or worse, answer each
 * other's traffic under the same instance names.
 *
 * The claim is a listening socket on the block's last address (127.B.255.255, never handed to an
 * instance: the allocator skips last octets 0 and 255) at a fixed port: the kernel keeps it
 * exclusive across processes and frees it when the process ends, however it ends.
 */
import { createServer, type Server } from 'node:net';
import { sequentialIpv4Allocator } from './arm-emulator';
import type { IpAllocator } from './arm-emulator';

/** The port of the claim sockets (one per block, on 127.B.255.255). */
export const LOOPBACK_CLAIM_PORT = 47_913;

export interface LoopbackBlock {
  /** The block's second octet: addresses are 127.<octet>.x.y. */
  readonly octet: number;
  readonly first: string;
  readonly last: string;
  /** Hands out the block's addresses in order, never one twice. */
  readonly allocator: IpAllocator;
  release(): Promise<void>;
}

/**
 * Claims the first free block from 127.0.0.0/16 upwards. Fails with a clear message when every
 * block is taken or the claim port is held on the wildcard address by some other program.
 */
export async function claimLoopbackBlock(options: { readonly port?: number; readonly octets?: readonly number[] } = {}): Promise<LoopbackBlock> {
  const port = options.port ?? LOOPBACK_CLAIM_PORT;
  const octets = options.octets ?? Array.from({ length: 255 }, (_, i) => i);
  let lastError: NodeJS.ErrnoException | undefined;
  for (const octet of octets) {
    const claim = await listen(`127.${octet}.255.255`, port).catch((error: NodeJS.ErrnoException) => error);
    if (claim instanceof Error) {
      lastError = claim;
      // Taken by another sandbox: try the next block. Anything else (no such address, e.g. on a
      // system without the whole 127/8 on loopback) will not get better with another block.
      if (claim.code === 'EADDRINUSE') continue;
      throw new Error(`cannot claim loopback block 127.${octet}.0.0/16 (listening on 127.${octet}.255.255:${port}): ${claim.message}`);
    }
    const first = `127.${octet}.1.1`;
    const last = `127.${octet}.255.254`;
    return {
      octet,
      first,
      last,
      allocator: sequentialIpv4Allocator(first, last),
      release: () => new Promise<void>((resolve) => claim.close(() => resolve())),
    };
  }
  throw new Error(
    `no free loopback block for the sandbox's instances: every 127.B.255.255:${port} claim is taken (${lastError?.code ?? 'no block tried'}); ` +
      `stop other sandboxes, or free port ${port} if another program listens on it on every address`,
  );
}

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    // exclusive: in a cluster worker the claim must still be this process's own.
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      // The claim never keeps a process alive on its own.
      server.unref();
      resolve(server);
    });
  });
}
