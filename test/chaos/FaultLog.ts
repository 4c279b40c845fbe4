/**
 * What the fault plan did, with timestamps and connection ids, so that every duplicate the run
 * finds can be checked against the faults that could have caused it.
 * @module
 */

/** The kinds of fault the run injects. */
export const FAULT_KINDS = [
  'smtpDropClientToServer',
  'smtpDropServerToClient',
  'smtpDropAfterDot',
  'smtpStall',
  'smtp421',
  'rcpt450',
  'rcptLimit',
  'sqs500',
  'sqsThrottle',
  'sqsSlow',
  'kill',
  'killAfterDelivery',
  'requeueFail',
  'redelivery',
  'doublePublish',
  'ledgerError',
] as const;

/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One injected fault. */
export interface FaultEvent {
  /** `Date.now()` when it happened. */
  t: number;
  kind: FaultKind;
  /** The SMTP proxy connection (`c12`) it hit, when it hit one. */
  conn?: string;
  /** What exactly: the byte offset, the command, the SQS action... */
  detail: string;
}

/** The run's fault log. */
export class FaultLog {
  readonly events: FaultEvent[] = [];

  add(kind: FaultKind, detail: string, conn?: string): void {
    this.events.push({ t: Date.now(), kind, detail, ...(conn === undefined ? {} : { conn }) });
  }

  /** How many of each kind (every kind listed, zeros included). */
  counts(): Record<FaultKind, number> {
    const counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
    for (const event of this.events) counts[event.kind] += 1;
    return counts;
  }
}
