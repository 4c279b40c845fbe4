/**
 * The producer API: publish mail jobs to the mail queue. Import it as `outbound-mail/publish`;
 * it pulls in the job checks and the SQS client, nothing of the Lambda or the CDK app.
 * @module
 */
export { createMailQueue } from './createMailQueue.js';
export { PublishError } from './PublishError.js';
export { SQS_MAX_BYTES, SQS_MAX_BATCH_ENTRIES, DEFAULT_OFFLOAD_THRESHOLD_BYTES, DEFAULT_MAX_MESSAGE_BYTES } from './queueMessage.js';
export { JobWithFiles, type FileAttachment } from './JobWithFiles.js';
export type { MailQueue, MailQueueOptions, PublishResult, PublishedJob, FailedJob, S3ClientLike } from './types.js';
export { InvalidJobError, type JobIssue } from '../message/InvalidJobError.js';
export type { MailJobInput, ComposedMailJobInput, RawMailJobInput, AddressInput, AddressListInput, AttachmentInput } from '../message/types.js';
