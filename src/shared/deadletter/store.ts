/**
 * The seam between replaying dead letters and where they are kept. `container-store.ts` binds it
 * to an Azure blob container; tests can bind it to anything. Callers' obligations are stated per
 * method.
 */
import { VmssMeshError } from '../errors';

export interface DeadLetterBlobInfo {
  readonly name: string;
  /** When Event Grid wrote the blob (the dead-letter time). */
  readonly lastModified: Date;
  readonly etag: string;
  readonly size: number;
}

export interface DeadLetterStore {
  /** Where the dead letters are, without credentials (safe to print). */
  readonly location: string;
  /** Every dead-letter blob, excluding those already moved aside (`replayed/…`). Order is unspecified. */
  list(): AsyncIterable<DeadLetterBlobInfo>;
  /** Reads a blob without claiming it (dry runs). */
  read(name: string): Promise<string>;
  /**
   * Claims a blob for replay so no other replay (concurrent run, second operator) takes it too.
   * A claim must be ended with exactly one of `moveAside` or `release`, also when replay fails.
   */
  claim(name: string): Promise<ClaimResult>;
}

export type ClaimResult =
  | { readonly kind: 'claimed'; readonly claim: BlobClaim }
  /** Someone else holds the blob (another replay is running, or one crashed less than a lease ago). */
  | { readonly kind: 'busy' }
  /** The blob disappeared since it was listed (another replay moved it aside). */
  | { readonly kind: 'gone' };

export interface BlobClaim {
  /** ETag of the blob when it was claimed. */
  readonly etag: string;
  read(): Promise<string>;
  /**
   * True when an earlier run already replayed this very blob (same ETag) and wrote its replayed
   * copy, but stopped before removing the original: then the blob must be moved aside, not replayed.
   */
  replayedBefore(): Promise<boolean>;
  /** Writes the replayed copy (`replayed/<name>`), then removes the original under the claim. */
  moveAside(content: string): Promise<void>;
  /** Gives the blob back untouched (failed replay: it stays for the next run). */
  release(): Promise<void>;
}

/** Storage refused or failed an operation; `retryable` when trying again later may help. */
export class DeadLetterStoreError extends VmssMeshError {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
