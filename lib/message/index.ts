/**
 * Mail jobs: the version 1 format, its checks, and MIME composition.
 * @module
 */
export { parseMailJob } from './parseMailJob.js';
export { composeMail } from './composeMail.js';
export { readJobBody } from './jobJson.js';
export { InvalidJobError, MAX_LISTED_ISSUES, formatIssue, type JobIssue } from './InvalidJobError.js';
export { parseAddress, parseBareAddress, type AddressResult } from './address.js';
export { deriveEnvelope } from './envelope.js';
export { messageIdFor } from './messageId.js';
export { contentJobId, CONTENT_JOB_ID_PREFIX } from './contentJobId.js';
export { PRODUCT_HEADERS, RESENT_FIELDS } from './headerRules.js';
export { MAX_RECIPIENTS, MAX_TAGS, MAX_DELAY_SECONDS } from './jobSchema.js';
export type {
  AddressInput,
  AddressListInput,
  AttachmentInput,
  ComposedMailJobInput,
  RawMailJobInput,
  ListUnsubscribeInput,
  MailJobInput,
  MailAddress,
  MailHeader,
  MailAttachment,
  ComposedMailJob,
  RawMailJob,
  MailJob,
  ComposeDefaults,
  ComposedMail,
} from './types.js';
