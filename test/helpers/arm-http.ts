/**
 * Raw HTTPS requests to the ARM emulator (no SDK), for tests of the wire behaviour itself.
 */
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { ArmEmulator } from '../../src/sandbox/arm-emulator';
import { TOKEN } from './arm-fixture';

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON, or `undefined` for an empty body. */
  readonly body: unknown;
}

export interface RawRequestOptions {
  /** `null` sends no Authorization header. Default the fixture's token. */
  readonly token?: string | null;
  /** `null` leaves api-version out. Default `2026-04-01`. */
  readonly apiVersion?: string | null;
  readonly body?: unknown;
  /** Sent as is instead of JSON-encoding `body`. */
  readonly rawBody?: string;
}

/** `pathAndQuery` may be a path (`/subscriptions/…?$expand=x`) or an absolute URL (a nextLink). */
export function armRequest(arm: ArmEmulator, method: string, pathAndQuery: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const url = new URL(pathAndQuery, arm.url);
  const apiVersion = options.apiVersion === undefined ? '2026-04-01' : options.apiVersion;
  if (apiVersion !== null && !url.searchParams.has('api-version')) url.searchParams.set('api-version', apiVersion);
  const token = options.token === undefined ? TOKEN : options.token;
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: arm.caPem,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function vmssPath(subscriptionId: string, resourceGroup: string, name?: string): string {
  const base = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets`;
  return name === undefined ? base : `${base}/${name}`;
}
