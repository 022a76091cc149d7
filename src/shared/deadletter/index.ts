/** Dead-letter replay: Event Grid's dead-letter blobs → explanations → the function's code path. */
export { describeRecord, parseDeadLetterBlob, type DeadLetteredEvent, type DeadLetterRecord } from './dead-letter-blob';
export { isReplayedName, parseSince, REPLAYED_PREFIX, replayedNameFor, subscriptionOfBlob } from './blob-names';
export { createContainerStore, parseContainerUrl, redact, type ContainerStoreOptions } from './container-store';
export {
  replayDeadLetters,
  type BlobReport,
  type BlobStatus,
  type DeliveryResult,
  type EventReport,
  type ReplayCounts,
  type ReplayOptions,
  type ReplayProgress,
  type ReplaySummary,
} from './replay';
export { DeadLetterStoreError, type BlobClaim, type ClaimResult, type DeadLetterBlobInfo, type DeadLetterStore } from './store';
