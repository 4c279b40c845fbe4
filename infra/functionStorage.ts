/**
 * The send-mail function's ephemeral storage (`/tmp`) and the part of it offloaded jobs may take:
 * a batch reads its claim-check jobs into spool files there before the session (issue 11), and the
 * function loads them only while they fit `MAIL_SPOOL_BYTES`, which the stack derives from the
 * storage it gives the function.
 * @module
 */
import { Size, SizeRoundingBehavior, Token } from 'aws-cdk-lib';
import { InvalidOutboundMailPropsError } from './errors.js';

/** The function's `/tmp` when not set: 1 GiB, twice Lambda's default, room for a batch of large jobs. */
export const DEFAULT_EPHEMERAL_STORAGE = Size.mebibytes(1024);
/** Lambda's range of ephemeral storage, in MiB. */
export const EPHEMERAL_STORAGE_MIB = { min: 512, max: 10_240 } as const;
/** What `/tmp` keeps besides the spool (the runtime's own files, a killed invocation's leftovers until the next batch clears them). */
export const SPOOL_HEADROOM_MIB = 112;

/** The function's storage and its spool budget. */
export interface FunctionStorage {
  readonly ephemeralStorageSize: Size;
  /** `MAIL_SPOOL_BYTES`: the storage less {@link SPOOL_HEADROOM_MIB} (400 MiB of Lambda's default 512). */
  readonly spoolBytes: number;
}

/**
 * Checks the ephemeral storage prop (whole MiB, 512 to 10,240) and derives the spool budget.
 * @throws {InvalidOutboundMailPropsError} naming `ephemeralStorageSize` when it is out of range
 * @example
 * functionStorage(Size.mebibytes(2048)).spoolBytes; // 1936 MiB = 2030043136
 */
export function functionStorage(size: Size | undefined): FunctionStorage {
  const given = size ?? DEFAULT_EPHEMERAL_STORAGE;
  const mebibytes = given.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
  if (
    !Token.isUnresolved(mebibytes) &&
    (!Number.isInteger(mebibytes) || mebibytes < EPHEMERAL_STORAGE_MIB.min || mebibytes > EPHEMERAL_STORAGE_MIB.max)
  ) {
    throw new InvalidOutboundMailPropsError(
      'ephemeralStorageSize',
      `must be a whole number of MiB from ${EPHEMERAL_STORAGE_MIB.min} to ${EPHEMERAL_STORAGE_MIB.max} (Lambda's range), got ${mebibytes} MiB`,
    );
  }
  return { ephemeralStorageSize: given, spoolBytes: (mebibytes - SPOOL_HEADROOM_MIB) * 1024 * 1024 };
}
