/**
 * `npm run bench -- large`: peak memory and time per batch of the send-mail function handling
 * batches of 10, 25 and 40 MB messages offloaded to S3 (claim checks), and a batch mixing large and
 * small jobs, on a DATA-only relay and a CHUNKING one at RTT 0 and 40 ms, beside nodemailer
 * streaming the same messages (issue 11, "Measured").
 * @module
 */
import { FUNCTION_MEMORY_MB, lambdaNodeFlags } from '../handlerChild.js';
import { fixed, markdownTable } from '../report.js';
import type { BenchSection } from '../report.js';
import { LARGE_HEADERS, largeTableRows, withinLimitLine } from './largeTable.js';
import type { LargeRow } from './largeTable.js';
import { LARGE_BATCHES, attachmentBytesFor, measureLarge } from './measureLarge.js';

/** The largest message smtp-server received per batch (it keeps the CRLF wire form), for each handler. */
export function wireSizesLine(rows: readonly LargeRow[]): string {
  const data = rows.filter((row) => row.relay === 'DATA' && row.largestBytes > 0);
  const batches = [...new Set(data.map((row) => row.batch))];
  const sizes = batches.map((batch) => {
    const of = (handler: LargeRow['handler']): string => {
      const row = data.find((each) => each.batch === batch && each.handler === handler);
      return row === undefined ? '–' : `${fixed(row.largestBytes / 1e6, 2)} MB`;
    };
    return `${batch}: ${of('send-mail (ours)')} / ${of('nodemailer')}`;
  });
  return sizes.length === 0 ? '' : `Largest message as the DATA relay received it (ours / nodemailer): ${sizes.join('; ')}.`;
}

/** The bench section for `npm run bench -- large`. */
export const largeMessagesSection: BenchSection = {
  name: 'large',
  title: 'send-mail handler: peak memory and time for 10 to 40 MB messages through S3',
  async run(log) {
    const rows = await measureLarge({ log });
    const attachments = [...new Set(LARGE_BATCHES.flatMap((batch) => batch.largeMb))]
      .map((mb) => `${fixed(attachmentBytesFor(mb * 1e6) / 1e6, 2)} MB for ${mb} MB`)
      .join(', ');
    return [
      'Each large job attaches one file of random octets sized so that the composed message is about 10, 25 or 40 MB on the wire ' +
        `(MB = 10⁶ octets; base64 in 76-character lines: ${attachments}); the mixed batch is one 40 MB and one 10 MB job and 8 small ` +
        'ones (a few KB of text and a 20 KB attachment, inline on the queue). Each batch is published through the producer ' +
        '(`createMailQueue` with `JobWithFiles`: each large job goes to S3 as a streamed multipart upload and the queue carries an SQS ' +
        'Extended Client pointer) into fauxqs (SQS + S3) running in the bench process and received back; each run gets those records ' +
        'as a Lambda event, their pointers naming fresh server-side copies of the objects (the function deletes what it delivered).',
      '',
      `**Ours**: the esbuild bundle of the function, imported by a fresh Node ${process.versions.node} process with ` +
        `the flags Lambda's Node.js runtime gives a ${FUNCTION_MEMORY_MB} MB function (\`${lambdaNodeFlags(FUNCTION_MEMORY_MB).join(' ')}\`, from the runtime's bootstrap; as in the \`memory\` section), the event parsed, the handler called once, its peak RSS ` +
        "the whole process's own peak, `VmHWM` of /proc/self/status (not `process.resourceUsage().maxRSS`: on Linux it keeps the " +
        "peak of the image before `exec`, so every child read at least the bench process's RSS at the fork, 130 to 180 MiB here). It reads each pointer from S3 with its streaming JSON reader (attachments " +
        'decoded into /tmp files), composes each message as a stream and sends it with the streaming `send` (BDAT in 1 MiB chunks when the ' +
        'relay offers CHUNKING), then deletes the objects. **nodemailer**: a minimal handler (`bench/large/nodemailerPayloadHandler.ts`) ' +
        'bundled and run the same way: it reads each pointer from S3 through the same streaming JSON reader (`spoolJobJson`, because ' +
        '`JSON.parse` of a 53 MB body cannot fit 128 MB), all records side by side, then lets nodemailer compose each message with the ' +
        'spooled attachment as a file stream (`fs.createReadStream`) and send them all over one pooled connection (DATA: nodemailer never ' +
        'uses BDAT). So the two differ in composing and sending only.',
      '',
      "Relays, both in the bench process so that a child's RSS is the handler's alone: **DATA** is smtp-server (STARTTLS + AUTH, " +
        'PIPELINING, no CHUNKING, SIZE 64 MiB); **CHUNKING** is a private Postfix from Debian (STARTTLS + AUTH through Dovecot, ' +
        'PIPELINING, CHUNKING, `message_size_limit` 64 MiB) delivering to Maildirs. RTT is added by the latency proxy between the ' +
        'handler and the relay (S3 is not delayed). "Delivered intact": every message of the batch reached the relay and every large ' +
        "attachment, parsed back out of the delivered message, has the file's SHA-256, in every run. Runs alternate between the handlers. " +
        'The machine has 2 cores shared with other work running tests at the same time, so times are noisy: read the ratios, not the ' +
        'milliseconds. "RSS after import" is Node plus the imported bundle, before the event is read.',
      '',
      markdownTable(LARGE_HEADERS, largeTableRows(rows)),
      '',
      withinLimitLine(rows),
      '',
      wireSizesLine(rows),
    ].join('\n');
  },
};
