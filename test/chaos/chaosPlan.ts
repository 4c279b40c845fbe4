/**
 * The fault plan of a fault-injection run (how often each fault strikes) and its pipeline (the
 * event source and queue settings, with time compressed).
 * @module
 */
import type { RelayFaults } from './chaosRelay.js';
import type { SmtpProxyFaults } from './SmtpFaultProxy.js';
import type { SqsProxyFaults } from './SqsFaultProxy.js';

/** The fault plan's rates. */
export interface FaultRates {
  smtp: SmtpProxyFaults;
  relay: RelayFaults;
  sqs: SqsProxyFaults;
  /** Chance that an invocation is killed, and when (ms after it started). */
  kill: number;
  killWithinMs: [number, number];
  /**
   * Chance, per copy whose final reply reached the function, that the invocation is killed then
   * (after the relay said 250, before the batch answered), and how long after the reply (ms).
   */
  killAfterDelivery: number;
  killAfterDeliveryMs: [number, number];
  /**
   * Chance, per invocation, that one of its records is made visible again while it works (SQS
   * handing a message out twice, as when the visibility timeout ends early), and when (ms after it started).
   */
  redelivery: number;
  redeliveryAfterMs: [number, number];
  /** Chance that the producer publishes a job twice. */
  doublePublish: number;
  /** Chance that a call to the delivery ledger fails (`500`). */
  ledgerError: number;
}

/** The default plan: every fault kind, often enough to matter, rare enough that most jobs get through in a few receives. */
export const DEFAULT_RATES: FaultRates = {
  smtp: {
    dropClientToServer: 0.04,
    dropServerToClient: 0.03,
    dropAfterDot: 0.05,
    stall: 0.03,
    stallAfterDot: 0.05,
    stallMs: [2000, 15_000],
    spanBytes: 3000,
  },
  relay: { rcpt450: 0.03, later450: 0.5, smtp421: 0.04, rcptLimit: 0.05 },
  sqs: { error500: 0.03, throttle: 0.03, slow: 0.03, slowMs: [500, 3000], brownout: { windowMs: 5000, chance: 0.3 }, requeueFail: 0.15 },
  kill: 0.05,
  killWithinMs: [0, 250],
  killAfterDelivery: 0.04,
  killAfterDeliveryMs: [0, 30],
  redelivery: 0.15,
  redeliveryAfterMs: [20, 400],
  doublePublish: 0.03,
  ledgerError: 0.01,
};

/** The pipeline, with time compressed. */
export interface ChaosPipeline {
  /** Event source maximum concurrency. @default 4 */
  pollers: number;
  /** Batch size = MAIL_PER_CONNECTION. @default 10 */
  batchSize: number;
  /** Function timeout. @default 10 */
  timeoutSeconds: number;
  /**
   * Queue visibility timeout. It must outlast a cold start plus the function timeout, or a record
   * whose invocation ran long comes back while it is still being handled (a duplicate the stack
   * prevents with 6 × the timeout). @default 20
   */
  visibilitySeconds: number;
  /** The stack's default. @default 5 */
  maxReceiveCount: number;
  /** BACKOFF_SCALE. @default 0.02 */
  backoffScale: number;
  /** Stop waiting for the queue to empty after this long. */
  settleSeconds: number;
}

/** The default pipeline (time compressed about fifty times). */
export const DEFAULT_PIPELINE: ChaosPipeline = {
  pollers: 4,
  batchSize: 10,
  timeoutSeconds: 10,
  visibilitySeconds: 20,
  maxReceiveCount: 5,
  backoffScale: 0.02,
  settleSeconds: 240,
};
