/**
 * Claim checks for the send-mail handler's tests (issue 11): an S3 client on the SQS emulator
 * (fauxqs serves S3 too), a spool folder for the handler, fresh buckets, jobs written to S3 with
 * their pointers, pointers published with their `ExtendedPayloadSize`, and smtp-server behind a
 * handler that reads claim checks from a bucket.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, expect } from 'vitest';
import type { Config, SmtpSettings } from '../../lib/config.js';
import type { SendMailHandlerDeps } from '../../lib/delivery/index.js';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { sendMailRig } from './sendMailHarness.js';
import type { SendMailRig, SendMailRigOptions } from './sendMailHarness.js';
import { startSmtpServer } from './smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from './smtpServer.js';
import { lambdaContext, sqsEvent } from './sqsEvents.js';
import type { SqsEmulator } from './sqsQueues.js';

/**
 * An S3 client on the emulator (fauxqs serves S3 beside SQS): path-style, with the dummy
 * credentials it takes. The caller destroys it.
 * @example
 * const s3 = emulatorS3Client(emulator().endpoint);
 */
export function emulatorS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** Options of {@link useClaimCheckRig}. */
export interface ClaimCheckRigOptions {
  /** The start of the spool folder's name in the system's temp folder (e.g. `'payload-test-'`). */
  spoolPrefix: string;
  /**
   * Where the S3 client sends its requests, read in each test's `beforeEach` (e.g. an AWS call
   * recorder in front of the emulator, started by a `beforeEach` registered before the rig's).
   * @default the emulator's endpoint
   */
  endpoint?: () => string;
}

/** A job's JSON written to S3: the pointer body naming it, its key and its size in octets. */
export interface OffloadedJob {
  body: string;
  key: string;
  size: number;
}

/** A queue body to publish, with the `ExtendedPayloadSize` a producer gives a pointer when `size` is set. */
export interface PublishedBody {
  body: string;
  size?: number;
}

/** Options of {@link ClaimCheckRig.handler}: smtp-server's (its SIZE 10 000 000 unless given), and the rig's limits and queue kind. */
export interface ClaimCheckHandlerOptions extends Pick<SendMailRigOptions, 'fifo' | 'maxReceives' | 'payloadLimits'> {
  server?: SmtpServerOptions;
}

/** The current test's claim-check surroundings (see {@link useClaimCheckRig}). */
export interface ClaimCheckRig {
  /** The S3 client on the emulator (the handler's `deps.s3`), destroyed after the test. */
  readonly s3: S3Client;
  /** A fresh folder, the handler's `deps.tmpDir`, removed after the test. */
  readonly spool: string;
  /** Creates a fresh bucket: `prefix-n`, n counting the buckets of the file. */
  newBucket: (prefix: string) => Promise<string>;
  /** `MAIL_PAYLOAD_BUCKET` and the handler's S3 client and spool, as `sendMailRig` and `ledgerRig` take them. */
  readerOptions: (bucket: string) => { payload: NonNullable<Config['payload']>; deps: Pick<SendMailHandlerDeps, 's3' | 'tmpDir'> };
  /** Writes the job's JSON under `key` and returns the pointer body (naming `recipients` when given), key and JSON size. */
  putJob: (bucket: string, key: string, job: unknown, recipients?: string[]) => Promise<OffloadedJob>;
  /** Whether the object is there (a HEAD answered). */
  exists: (bucket: string, key: string) => Promise<boolean>;
  /** Creates a fresh bucket (`prefix-n`), starts smtp-server (stopped after the test) and the handler reading claim checks from the bucket. */
  handler: (bucketPrefix: string, options?: ClaimCheckHandlerOptions) => Promise<{ rig: SendMailRig; smtp: SmtpServerHandle; bucket: string }>;
  /** Publishes each body to the rig's queue and receives them as one batch (expected to hold them all). */
  receive: (rig: SendMailRig, bodies: PublishedBody[]) => Promise<SQSRecord[]>;
  /** {@link ClaimCheckRig.receive}, then runs the handler on the batch. */
  run: (rig: SendMailRig, bodies: PublishedBody[]) => Promise<{ records: SQSRecord[]; response: SQSBatchResponse }>;
}

/**
 * For a suite of claim-check tests: before each test makes an S3 client on the emulator and a
 * spool folder; after it stops the smtp-server {@link ClaimCheckRig.handler} started, destroys the
 * client and removes the folder. Call it at the top level of a test file, after the emulator's
 * hooks; `s3` and `spool` are the running test's.
 * @example
 * const emulator = useSqsEmulator();
 * const claimChecks = useClaimCheckRig(emulator, { spoolPrefix: 'payload-test-' });
 * const { rig, smtp, bucket } = await claimChecks.handler('mail-payloads');
 * const job = await claimChecks.putJob(bucket, 'payloads/job-1', mailJob(1));
 * const { response } = await claimChecks.run(rig, [job]);
 */
export function useClaimCheckRig(emulator: () => SqsEmulator, options: ClaimCheckRigOptions): ClaimCheckRig {
  let current: { s3: S3Client; spool: string } | undefined;
  let server: SmtpServerHandle | undefined;
  let buckets = 0;
  beforeEach(async () => {
    const spool = await mkdtemp(join(tmpdir(), options.spoolPrefix));
    current = { s3: emulatorS3Client(options.endpoint?.() ?? emulator().endpoint), spool };
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    current?.s3.destroy();
    if (current !== undefined) await rm(current.spool, { recursive: true, force: true });
    current = undefined;
  });
  const running = (): { s3: S3Client; spool: string } => {
    if (current === undefined) throw new Error('no claim-check rig outside a test (useClaimCheckRig makes one in beforeEach)');
    return current;
  };

  const rig: ClaimCheckRig = {
    get s3() {
      return running().s3;
    },
    get spool() {
      return running().spool;
    },
    newBucket: async (prefix) => {
      buckets += 1;
      const bucket = `${prefix}-${buckets}`;
      await running().s3.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    readerOptions: (bucket) => ({ payload: { bucket, forcePathStyle: true }, deps: { s3: running().s3, tmpDir: running().spool } }),
    putJob: async (bucket, key, job, recipients) => {
      const json = JSON.stringify(job);
      await running().s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: json }));
      return { body: payloadPointerBody({ bucket, key, ...(recipients === undefined ? {} : { recipients }) }), key, size: Buffer.byteLength(json) };
    },
    exists: async (bucket, key) => {
      try {
        await running().s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch {
        return false;
      }
    },
    handler: async (bucketPrefix, { server: serverOptions, ...rigOptions } = {}) => {
      const bucket = await rig.newBucket(bucketPrefix);
      server = await startSmtpServer({ size: 10_000_000, ...serverOptions });
      const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
      const handler = await sendMailRig({
        emulator: emulator(),
        smtp: { kind: 'url', settings },
        tlsCa: server.ca,
        ...rig.readerOptions(bucket),
        ...rigOptions,
      });
      return { rig: handler, smtp: server, bucket };
    },
    receive: async (handler, bodies) => {
      for (const { body, size } of bodies)
        await handler.queues.publish([body], size === undefined ? {} : { attributes: { ExtendedPayloadSize: String(size) } });
      const records = await handler.queues.receiveRecords(10);
      expect(records).toHaveLength(bodies.length);
      return records;
    },
    run: async (handler, bodies) => {
      const records = await rig.receive(handler, bodies);
      const response = await handler.handler(sqsEvent(records), lambdaContext());
      return { records, response };
    },
  };
  return rig;
}
