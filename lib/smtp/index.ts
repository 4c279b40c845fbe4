/**
 * The SMTP client: public API (DESIGN.md, "The SMTP client contract"). No AWS imports here.
 * @module
 */
export { SmtpClient } from './SmtpClient.js';
export { checkClientName } from './arguments.js';
export {
  SmtpError,
  ConnectionError,
  TimeoutError,
  ProtocolError,
  AuthenticationError,
  SenderRefusedError,
  RecipientsRefusedError,
  DataRefusedError,
  MessageTooLargeError,
  TlsRequiredError,
} from './errors.js';
export type {
  Capabilities,
  Envelope,
  MessageStream,
  RefusedRecipient,
  SecurityMode,
  SendResult,
  SmtpConnectOptions,
  SmtpPhase,
  SmtpReply,
  TranscriptEntry,
} from './types.js';
export type { ConnectionStats } from './connection.js';
