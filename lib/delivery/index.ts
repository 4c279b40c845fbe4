/**
 * A batch of mail jobs -> outcomes -> the batch response: the send-mail function's logic.
 * @module
 */
export { createSendMailHandler } from './sendMailHandler.js';
export type { InvocationContext, SendMailHandler, SendMailHandlerDeps } from './sendMailHandler.js';
export { deliverBatch } from './deliverBatch.js';
export { connectOptions } from './openSession.js';
export type { BatchReport, Delivery, DeliveryOptions, MailSession, Placement, RecordResult } from './types.js';
export { buildBatchResponse } from './batchResponse.js';
export { outcomeOfConnectError, outcomeOfResult, outcomeOfSendError, needsRetry } from './outcome.js';
export type { FailureReason, NotAttemptedCause, Outcome, OutcomeKind } from './outcome.js';
export { backoffSeconds } from './backoff.js';
export type { BackoffPolicy } from './backoff.js';
export { QueueActions } from './QueueActions.js';
export { SmtpSettingsSource } from './SmtpSettingsSource.js';
export { METRIC, redactAddresses, reportBatch } from './report.js';
export type { DeliveryLog, DeliveryMetrics } from './report.js';
export { REQUEUE_COUNT_ATTRIBUTE } from './mailRecord.js';
export { LedgerTable } from './ledger/LedgerTable.js';
export type { ClaimReply, LedgerEntry, LedgerTableOptions } from './ledger/LedgerTable.js';
export { DEFAULT_LEDGER_TTL_SECONDS, LEDGER_ACTIONS, LEDGER_ATTRIBUTE, LEDGER_TABLE_SCHEMA, ledgerCreateTableInput } from './ledger/tableSchema.js';
