/**
 * The comparison for the send-mail handler's memory and time: a minimal SQS handler built on
 * nodemailer (one pooled connection, `maxConnections: 1`) that sends the same messages our
 * `composeMail` builds, all records at once, as a plain handler naturally would. Same
 * configuration (`lib/config.ts`), no DLQ, no outcomes: a failed record is simply reported failed.
 * Bundled like the real function by `bench/handlerMemory.ts`; not deployed.
 * @module
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config.js';
import { composeMail, parseMailJob } from '../lib/message/index.js';
import { nodemailerTransport } from './nodemailerTransport.js';

const config = loadConfig(process.env);

/** A minimal nodemailer handler: parse, compose, send everything over one pooled connection. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const { transport, settings } = nodemailerTransport(config);
  try {
    const outcomes = await Promise.allSettled(
      event.Records.map(async (record) => {
        const { envelope, message } = await composeMail(
          parseMailJob(JSON.parse(record.body)),
          settings.from === undefined ? {} : { from: settings.from },
        );
        await transport.sendMail({
          envelope: { from: envelope.from, to: envelope.to },
          raw: Buffer.from(message.buffer, message.byteOffset, message.byteLength),
        });
      }),
    );
    return {
      batchItemFailures: event.Records.flatMap((record, index) =>
        outcomes[index]?.status === 'rejected' ? [{ itemIdentifier: record.messageId }] : [],
      ),
    };
  } finally {
    transport.close();
  }
}
