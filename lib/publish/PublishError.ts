/**
 * SQS did not take a job: the entry failed, or the whole SendMessageBatch call failed.
 * `senderFault` is true when sending the same entry again cannot help.
 * @example
 * const [result] = await queue.sendBatch([job]);
 * if (!result.ok) console.error(result.error.code, result.error.message);
 */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  /** The SQS error code, such as `InvalidParameterValue`, `InternalError` or `QueueDoesNotExist`. */
  readonly code: string;
  readonly senderFault: boolean;

  constructor(message: string, options: { code: string; senderFault: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.senderFault = options.senderFault;
  }
}
