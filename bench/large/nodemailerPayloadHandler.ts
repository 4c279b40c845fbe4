/**
 * The comparison for the `large` bench: a minimal SQS handler built on nodemailer for jobs offloaded
 * to S3. A pointer record's object is read from S3 as a stream through the same streaming JSON
 * reader the function uses (`spoolJobJson`: the job parsed, each attachment's base64 decoded into a
 * /tmp file as it arrives), because `JSON.parse` of a 53 MB body cannot fit a 128 MB function; an
 * inline record is `JSON.parse`d. nodemailer then composes each message itself (MailComposer) with
 * every spooled attachment given as a file stream (`fs.createReadStream`), inline ones as base64
 * strings, and sends them all over one pooled connection (`maxConnections: 1`), DATA only (nodemailer
 * never uses BDAT). No validation, outcomes or DLQ: a failed record is reported failed. The objects are
 * left in S3 (the bench removes them). Bundled with the Lambda's esbuild settings; not deployed.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { SendMailOptions } from 'nodemailer';
import { loadConfig } from '../../lib/config.js';
import { spoolJobJson } from '../../lib/delivery/payload/spoolJobJson.js';
import type { SpooledContent } from '../../lib/delivery/payload/spoolJobJson.js';
import { parsePayloadPointer } from '../../lib/message/payloadPointer.js';
import { nodemailerTransport } from '../nodemailerTransport.js';

const config = loadConfig(process.env);
const s3 = new S3Client({ forcePathStyle: config.payload?.forcePathStyle ?? false });

/** The fields of a job this handler passes on; addresses are given as the job has them. */
interface JobFields {
  from?: string;
  to: string | string[];
  cc?: string | string[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: { filename: string; contentType: string; content: string }[];
}

/** nodemailer's message for a job whose attachments' content is in `spooled` files (or inline base64). */
function messageOf(job: JobFields, spooled: readonly SpooledContent[]): SendMailOptions {
  return {
    ...(job.from === undefined ? {} : { from: job.from }),
    to: job.to,
    ...(job.cc === undefined ? {} : { cc: job.cc }),
    ...(job.subject === undefined ? {} : { subject: job.subject }),
    ...(job.text === undefined ? {} : { text: job.text }),
    ...(job.html === undefined ? {} : { html: job.html }),
    attachments: (job.attachments ?? []).map((attachment, index) => {
      const file = spooled.find((entry) => entry.index === index);
      return file === undefined
        ? { filename: attachment.filename, contentType: attachment.contentType, content: attachment.content, encoding: 'base64' }
        : { filename: attachment.filename, contentType: attachment.contentType, content: createReadStream(file.path) };
    }),
  };
}

/** A minimal nodemailer handler for claim-check jobs: read every job (spooling attachments), then send them all over one pooled connection. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const { transport } = nodemailerTransport(config);
  const spool = path.join(os.tmpdir(), 'nodemailer-spool', randomUUID());
  await mkdir(spool, { recursive: true });
  try {
    const read = await Promise.allSettled(
      event.Records.map(async (record, index) => {
        const pointer = parsePayloadPointer(record.body);
        if (pointer === undefined) return messageOf(JSON.parse(record.body) as JobFields, []);
        const object = await s3.send(new GetObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }));
        const { input, spooled } = await spoolJobJson(object.Body as Readable, spool, `job-${index}`);
        return messageOf(input as JobFields, spooled);
      }),
    );
    const sent = await Promise.allSettled(
      read.map(async (message) => {
        if (message.status === 'rejected') throw message.reason;
        await transport.sendMail(message.value);
      }),
    );
    return {
      batchItemFailures: event.Records.flatMap((record, index) => (sent[index]?.status === 'rejected' ? [{ itemIdentifier: record.messageId }] : [])),
    };
  } finally {
    transport.close();
    await rm(spool, { recursive: true, force: true });
  }
}
