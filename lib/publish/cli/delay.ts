/**
 * `mail-queue send --delay`: how long SQS holds the job before it can be received.
 * @module
 */
import { UsageError } from '../jobFromFlags.js';

/** SQS's longest delay: 15 minutes. */
const MAX_DELAY_SECONDS = 900;

/**
 * `90`, `90s`, `5m` or `15m` as whole seconds, 0 to 900.
 * @throws {UsageError} for anything else, or more than 15 minutes
 * @example
 * parseDelay('5m'); // 300
 * parseDelay('90'); // 90
 */
export function parseDelay(text: string): number {
  const match = /^(\d{1,4})([sm]?)$/.exec(text.trim());
  const seconds = match === null ? Number.NaN : Number(match[1]) * (match[2] === 'm' ? 60 : 1);
  if (!(seconds >= 0 && seconds <= MAX_DELAY_SECONDS))
    throw new UsageError(`--delay ${JSON.stringify(text)} must be seconds or minutes up to 15m (SQS's longest delay): 90, 90s, 5m, 15m`);
  return seconds;
}
