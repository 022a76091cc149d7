/**
 * Private IPs for emulated instances. The default hands out loopback addresses (127.0.x.y): on
 * Linux every 127/8 address is bound to `lo`, so a demo backend can listen on exactly the address
 * the mesh will route to. Addresses are never reused, so a draining instance and its replacement
 * never share one.
 */
import { isIPv4 } from 'node:net';
import type { IpAllocator } from './world-types';

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function toIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/**
 * Sequential IPv4 allocator from `first` up to `last` (inclusive), skipping addresses whose last
 * octet is 0 or 255 (network/broadcast look-alikes confuse people reading logs).
 */
export function sequentialIpv4Allocator(first = '127.0.1.1', last = '127.0.255.254'): IpAllocator {
  if (!isIPv4(first) || !isIPv4(last)) throw new TypeError(`sequentialIpv4Allocator: expected IPv4 literals, got ${first} … ${last}`);
  const end = toInt(last);
  let next = toInt(first);
  if (next > end) throw new TypeError(`sequentialIpv4Allocator: ${first} is after ${last}`);
  return () => {
    while (next <= end && (next % 256 === 0 || next % 256 === 255)) next += 1;
    if (next > end) throw new RangeError(`IP range ${first} … ${last} is exhausted`);
    const ip = toIp(next);
    next += 1;
    return ip;
  };
}
