/**
 * `DeadLetterStore` over an Azure blob container (@azure/storage-blob).
 *
 * Credentials, from the container URL: a SAS in its query string (needs read, write, delete and
 * list: `rwdl`); Azurite's published development account (`devstoreaccount1`) with its well-known
 * key; otherwise DefaultAzureCredential (`az login`, managed identity), which needs Storage Blob
 * Data Contributor on the container.
 *
 * A claim is a 60 s blob lease, renewed while the replay runs. Moving aside writes
 * `replayed/<name>` (tagged with the original's ETag) and then deletes the original under the
 * lease, so a blob is never replayed by two runs at once, and a run that stops between the two
 * steps is finished by the next one without replaying again (`replayedBefore`).
 */
import { DefaultAzureCredential } from '@azure/identity';
import { AnonymousCredential, ContainerClient, RestError, StorageSharedKeyCredential, type BlobLeaseClient } from '@azure/storage-blob';
import { isReplayedName, replayedNameFor } from './blob-names';
import { DeadLetterStoreError, type BlobClaim, type ClaimResult, type DeadLetterBlobInfo, type DeadLetterStore } from './store';

/** Azurite's development account: published in Azure's docs, not a secret. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const LEASE_SECONDS = 60;
const RENEW_EVERY_MS = 20_000;
/** Metadata on the replayed copy: the original's ETag (metadata names are lower-cased by Azure). */
export const REPLAYED_SOURCE_ETAG_METADATA = 'vmssmeshsourceetag';
const SOURCE_ETAG_META = REPLAYED_SOURCE_ETAG_METADATA;
const REPLAYED_AT_META = 'vmssmeshreplayedat';

export interface ContainerStoreOptions {
  /** Renewal period of the lease (tests shorten it). Default 20 s for a 60 s lease. */
  readonly renewEveryMs?: number;
}

/** Parses and checks `--container`; throws `TypeError` with a printable reason (no secrets). */
export function parseContainerUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`not a URL: ${JSON.stringify(redact(raw))}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`expected an http(s) URL, got ${url.protocol}`);
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) throw new TypeError('plain http is only allowed for a local emulator (Azurite on loopback); use https');
  const segments = url.pathname.split('/').filter(Boolean);
  const pathStyle = isLoopback(url.hostname) || /^\d+\.\d+\.\d+\.\d+$/.test(url.hostname);
  // https://<account>.blob.core.windows.net/<container> or, for emulators, http://host:port/<account>/<container>
  if (segments.length !== (pathStyle ? 2 : 1)) {
    throw new TypeError(`expected a container URL such as https://<account>.blob.core.windows.net/<container>${pathStyle ? ' (emulator: http://127.0.0.1:10000/devstoreaccount1/<container>)' : ''}, got ${redact(raw)}`);
  }
  return url;
}

export function createContainerStore(containerUrl: string, options: ContainerStoreOptions = {}): DeadLetterStore {
  const url = parseContainerUrl(containerUrl);
  const location = `${url.origin}${url.pathname}`;
  const container = new ContainerClient(url.toString(), credentialFor(url));
  const renewEveryMs = options.renewEveryMs ?? RENEW_EVERY_MS;
  const fail = (action: string, error: unknown) => storeError(action, location, error);

  return {
    location,
    async *list(): AsyncIterable<DeadLetterBlobInfo> {
      try {
        for await (const item of container.listBlobsFlat()) {
          if (isReplayedName(item.name)) continue;
          yield { name: item.name, lastModified: item.properties.lastModified, etag: item.properties.etag, size: item.properties.contentLength ?? 0 };
        }
      } catch (error) {
        throw fail('list the blobs of', error);
      }
    },

    async read(name) {
      try {
        return (await container.getBlobClient(name).downloadToBuffer()).toString('utf8');
      } catch (error) {
        throw fail(`read ${name} in`, error);
      }
    },

    async claim(name): Promise<ClaimResult> {
      const blob = container.getBlockBlobClient(name);
      const lease = blob.getBlobLeaseClient();
      let etag: string;
      try {
        etag = (await lease.acquireLease(LEASE_SECONDS)).etag ?? '';
      } catch (error) {
        if (error instanceof RestError && error.statusCode === 409) return { kind: 'busy' };
        if (error instanceof RestError && error.statusCode === 404) return { kind: 'gone' };
        throw fail(`lease ${name} in`, error);
      }
      return { kind: 'claimed', claim: leasedClaim(container, name, etag, lease, renewEveryMs, fail) };
    },
  };
}

function leasedClaim(
  container: ContainerClient,
  name: string,
  etag: string,
  lease: BlobLeaseClient,
  renewEveryMs: number,
  fail: (action: string, error: unknown) => DeadLetterStoreError,
): BlobClaim {
  const blob = container.getBlockBlobClient(name);
  const copy = container.getBlockBlobClient(replayedNameFor(name));
  let renewalError: unknown;
  // Replaying one blob can outlast a lease (ARM throttling, a slow Consul): keep it alive.
  const renewal = setInterval(() => {
    lease.renewLease().catch((error: unknown) => {
      renewalError = error;
    });
  }, renewEveryMs);
  renewal.unref();
  const stop = () => clearInterval(renewal);

  return {
    etag,
    async read() {
      try {
        return (await blob.downloadToBuffer()).toString('utf8');
      } catch (error) {
        throw fail(`read ${name} in`, error);
      }
    },
    async replayedBefore() {
      try {
        const properties = await copy.getProperties();
        return properties.metadata?.[SOURCE_ETAG_META] === etag;
      } catch (error) {
        if (error instanceof RestError && error.statusCode === 404) return false;
        throw fail(`look for the replayed copy of ${name} in`, error);
      }
    },
    async moveAside(content) {
      stop();
      if (renewalError !== undefined) throw fail(`keep the lease on ${name} in`, renewalError);
      try {
        const bytes = Buffer.from(content, 'utf8');
        await copy.upload(bytes, bytes.length, {
          metadata: { [SOURCE_ETAG_META]: etag, [REPLAYED_AT_META]: new Date().toISOString() },
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
      } catch (error) {
        await lease.releaseLease().catch(() => undefined);
        throw fail(`write the replayed copy of ${name} in`, error);
      }
      try {
        // Under the lease: if our lease was lost and someone else took the blob, this fails
        // instead of deleting what they are working on.
        await blob.delete({ conditions: { leaseId: lease.leaseId } });
      } catch (error) {
        throw fail(`remove ${name} (its replayed copy is written; the next run removes it without replaying) from`, error);
      }
    },
    async release() {
      stop();
      try {
        await lease.releaseLease();
      } catch (error) {
        // An expired or lost lease frees the blob anyway; anything else is worth reporting.
        if (error instanceof RestError && (error.statusCode === 409 || error.statusCode === 404)) return;
        throw fail(`release the lease on ${name} in`, error);
      }
    },
  };
}

function credentialFor(url: URL): AnonymousCredential | StorageSharedKeyCredential | DefaultAzureCredential {
  if (url.searchParams.has('sig')) return new AnonymousCredential();
  const [account] = url.pathname.split('/').filter(Boolean);
  if (isLoopback(url.hostname) && account === DEV_ACCOUNT) return new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY);
  return new DefaultAzureCredential();
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** A URL without its query string: a SAS must never reach a log or a terminal. */
export function redact(raw: string): string {
  const q = raw.indexOf('?');
  return q === -1 ? raw : `${raw.slice(0, q)}?…`;
}

function storeError(action: string, location: string, error: unknown): DeadLetterStoreError {
  if (error instanceof DeadLetterStoreError) return error;
  const status = error instanceof RestError ? error.statusCode : undefined;
  const code = error instanceof RestError ? error.code : undefined;
  const where = `${action} ${location}`;
  if (status === 403 || status === 401) {
    return new DeadLetterStoreError(
      `access denied trying to ${where} (${code ?? status}): a SAS needs read, write, delete and list permissions (sp=rwdl); an identity needs Storage Blob Data Contributor`,
      false,
      { cause: error },
    );
  }
  if (status === 404 && code === 'ContainerNotFound') return new DeadLetterStoreError(`container not found trying to ${where}`, false, { cause: error });
  const retryable = status === undefined || status === 408 || status === 429 || status >= 500;
  // Some transport errors quote the request URL: never let a SAS signature through.
  const why = (error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error)).replace(/([?&]sig=)[^&\s"']+/gi, '$1…');
  return new DeadLetterStoreError(`could not ${where}: ${why}`, retryable, { cause: error });
}
