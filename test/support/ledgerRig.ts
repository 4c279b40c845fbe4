/**
 * The send-mail handler with a delivery ledger, for the ledger's tests: a scripted relay (its
 * mailbox holds only what it confirmed; the commands it got are kept), fresh queues in the SQS
 * emulator and a fresh ledger table in dynalite.
 * @module
 */
import type { SQSRecord } from 'aws-lambda';
import { afterEach } from 'vitest';
import type { Config, SmtpSettings } from '../../lib/config.js';
import { createSendMailHandler, LedgerTable } from '../../lib/delivery/index.js';
import type { SendMailHandlerDeps } from '../../lib/delivery/index.js';
import type { DynamoEmulator } from './dynamoEmulator.js';
import { DEFAULT_EXTENSIONS, startScriptedServer } from './scriptedServer.js';
import type { ReceivedCommand, ScriptedMessage, ScriptedReply, ScriptedServerHandle } from './scriptedServer.js';
import { RecordingLog, RecordingMetrics, sendMailRig } from './sendMailHarness.js';
import type { SendMailRig } from './sendMailHarness.js';
import { lambdaContext, sqsEvent } from './sqsEvents.js';
import type { SqsEmulator } from './sqsQueues.js';

/** Options of {@link ledgerRig}. */
export interface LedgerRigOptions {
  /** The relay's reply after a message (`undefined`: 250, and the message counts as confirmed). */
  onMessage?: (message: ScriptedMessage) => ScriptedReply | undefined | Promise<ScriptedReply | undefined>;
  /** `MAIL_MAX_RECIPIENTS`. */
  maxRecipientsPerMessage?: number;
  /** The relay's reply to a command (`undefined`: its own). */
  onCommand?: (command: ReceivedCommand) => ScriptedReply | undefined;
  fifo?: boolean;
  /** `MAIL_MAX_RECEIVES`. */
  maxReceives?: number;
  /** `MAIL_PAYLOAD_BUCKET`: claim checks read from this bucket (pass `deps.s3` for the emulator's S3). */
  payload?: Config['payload'];
  /** Replaces the handler's dependencies (e.g. `dynamo` with a client of a stopped emulator). */
  deps?: Partial<SendMailHandlerDeps>;
}

/** The handler and its surroundings. */
export interface LedgerRig {
  rig: SendMailRig;
  relay: ScriptedServerHandle;
  log: RecordingLog;
  metrics: RecordingMetrics;
  tableName: string;
  /** The messages the relay confirmed with 250. */
  confirmed: ScriptedMessage[];
  /** The ledger table, to prepare a test's state. */
  table: LedgerTable;
  /** Runs the handler on these records. */
  invoke: (records: SQSRecord[], remainingMs?: () => number) => ReturnType<ReturnType<typeof createSendMailHandler>>;
  /** The RCPT addresses the relay got, per connection. */
  rcpts: () => (string | undefined)[][];
  /** The DATA commands the relay got, per connection. */
  datas: () => number[];
}

const WITHOUT_CHUNKING = DEFAULT_EXTENSIONS.filter((extension) => extension !== 'CHUNKING');

/**
 * Starts a scripted relay (the caller stops `relay`), makes fresh queues and a ledger table, and
 * builds the handler over them.
 * @example
 * const { invoke, rcpts } = await ledgerRig(emulator(), dynamo(), { onCommand: (c) => (c.verb === 'RCPT' ? ['450 4.2.1 Busy'] : undefined) });
 */
export async function ledgerRig(emulator: SqsEmulator, dynamo: DynamoEmulator, options: LedgerRigOptions = {}): Promise<LedgerRig> {
  const confirmed: ScriptedMessage[] = [];
  const relay = await startScriptedServer({
    extensions: WITHOUT_CHUNKING,
    ...(options.onCommand === undefined ? {} : { onCommand: options.onCommand }),
    onData: async (message) => {
      const reply = await options.onMessage?.(message);
      if (reply === undefined) confirmed.push(message);
      return reply;
    },
  });
  const settings: SmtpSettings = { host: relay.host, port: relay.port, security: 'starttls', username: 'mailer', password: 'secret' };
  const rig = await sendMailRig({
    emulator,
    smtp: { kind: 'url', settings },
    tlsCa: relay.ca,
    fifo: options.fifo ?? false,
    ...(options.maxRecipientsPerMessage === undefined ? {} : { maxRecipientsPerMessage: options.maxRecipientsPerMessage }),
    ...(options.payload === undefined ? {} : { payload: options.payload }),
    ...(options.maxReceives === undefined ? {} : { maxReceives: options.maxReceives }),
  });
  const tableName = await dynamo.newLedgerTable();
  const config: Config = { ...rig.config, ledger: { tableName, ttlSeconds: 3600 } };
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  const handler = createSendMailHandler(config, {
    log,
    metrics,
    sqs: emulator.sqs,
    dynamo: dynamo.client,
    tuning: { backoff: { random: () => 0 } },
    ...options.deps,
  });
  return {
    rig,
    relay,
    log,
    metrics,
    tableName,
    confirmed,
    table: new LedgerTable(dynamo.client, { tableName, ttlSeconds: 3600 }),
    invoke: (records, remainingMs) => handler(sqsEvent(records), lambdaContext(remainingMs)),
    rcpts: () =>
      relay.connections.map((connection) => connection.commands.filter((c) => c.verb === 'RCPT').map((c) => /<([^>]*)>/.exec(c.args)?.[1])),
    datas: () => relay.connections.map((connection) => connection.commands.filter((c) => c.verb === 'DATA').length),
  };
}

/**
 * For a suite: starts each test's {@link ledgerRig} on the suite's emulators and stops its relay
 * after the test (`afterEach`). Call it at the top level of a test file, after the emulators' hooks.
 * @example
 * const ledgerRig = useLedgerRig(emulator, dynamo);
 * const { invoke, rcpts } = await ledgerRig({ fifo: true });
 */
export function useLedgerRig(emulator: () => SqsEmulator, dynamo: () => DynamoEmulator): (options?: LedgerRigOptions) => Promise<LedgerRig> {
  let running: LedgerRig | undefined;
  afterEach(async () => {
    await running?.relay.stop();
    running = undefined;
  });
  return async (options = {}) => {
    running = await ledgerRig(emulator(), dynamo(), options);
    return running;
  };
}
