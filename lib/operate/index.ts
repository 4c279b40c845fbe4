/**
 * The operator's tools: look at the dead-letter queue, redrive or purge it, read the queues'
 * depths, and find an environment's queues. `mail-queue dlq|stats` and the local web page both
 * call these.
 * @module
 */
export {
  listDeadLetters,
  findDeadLetters,
  DEFAULT_LIST_MAX,
  DEFAULT_CLAIM_CHECKS_READ,
  type ListDeadLettersOptions,
  type FoundDeadLetter,
  type ClaimCheckReading,
} from './listDeadLetters.js';
export { readClaimCheck, type ClaimCheck, type ClaimCheckState, type OffloadedJob } from './claimCheck.js';
export { redriveDeadLetters, type RedriveOptions } from './redriveDeadLetters.js';
export { purgeDeadLetters, type PurgeOptions, type PurgeSummary } from './purgeDeadLetters.js';
export { queueStats, queueDepth, type QueueStatsOptions } from './queueStats.js';
export {
  deadLetterQueueOf,
  stackQueues,
  stackPublishTarget,
  StackOutputError,
  STACK_OUTPUTS,
  type MailQueueUrls,
  type PublishTarget,
} from './findQueues.js';
export { readDeadLetter, applyClaimCheck, matchesFilter, reasonText, DEAD_LETTER_ATTRIBUTES, REDRIVE_DROPPED_ATTRIBUTES } from './deadLetter.js';
export type { DeadLetter, DeadLetterFilter, DeadLetterReason, DeadLetterSource, RedriveSummary, QueueDepth, QueueStats } from './types.js';
export { describeJob, describeJobInput, CONFIGURED_SENDER_PLACEHOLDER, type JobDescription, type JobPart } from './describeJob.js';
