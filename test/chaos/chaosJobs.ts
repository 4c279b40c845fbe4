/**
 * The jobs of a fault-injection run: each recipient's address says what the relay will do with it
 * (`ok`, `later`, `refuse`, see chaosRelay.ts) and carries the job id, so every (job, recipient)
 * can be followed to the mailbox, the dead-letter queue or the queue. On a FIFO queue the jobs are
 * spread over many message groups, published in order.
 * @module
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { CHAOS_DOMAIN } from './chaosRelay.js';
import type { RecipientKind } from './chaosRelay.js';
import type { SeededRandom } from './random.js';

/** One recipient of a job and what the relay does with it. */
export interface ChaosRecipient {
  address: string;
  kind: RecipientKind;
  field: 'to' | 'cc' | 'bcc';
}

/** One job of the run. */
export interface ChaosJob {
  id: string;
  /** Order of publication (and, on FIFO, order within its group). */
  index: number;
  group?: string;
  recipients: ChaosRecipient[];
  body: string;
}

/**
 * Makes `count` jobs: one to three `to`, sometimes a `cc` and a `bcc`; recipients mostly `ok`,
 * some `later`, some `refuse`; a few jobs whose every recipient refuses.
 * @param groups FIFO message groups (jobs go round them), or undefined for a standard queue
 */
export function makeJobs(prefix: string, count: number, random: SeededRandom, groups?: number): ChaosJob[] {
  return Array.from({ length: count }, (_, index) => {
    const id = `${prefix}-${String(index).padStart(4, '0')}`;
    // A few jobs close to SQS's 1 MiB limit, with a recipient who may refuse for now in `cc`: the
    // message as sent does not fit in a re-enqueued raw job, so the job must be narrowed (issue 13,
    // items 4 and 5).
    if (random.chance(LARGE_JOB_SHARE)) return largeJob(id, index, random, groups);
    const allRefuse = random.chance(0.04);
    const kinds = (): RecipientKind => (allRefuse ? 'refuse' : random.chance(0.7) ? 'ok' : random.chance(0.5) ? 'later' : 'refuse');
    const recipients: ChaosRecipient[] = [];
    const add = (field: ChaosRecipient['field']): void => {
      const kind = kinds();
      recipients.push({ address: `${kind}${recipients.length + 1}+${id}@${CHAOS_DOMAIN}`, kind, field });
    };
    for (let i = random.int(1, 3); i > 0; i -= 1) add('to');
    if (random.chance(0.3)) add('cc');
    if (random.chance(0.2)) add('bcc');
    const of = (field: ChaosRecipient['field']): string[] => recipients.filter((r) => r.field === field).map((r) => r.address);
    const job: Record<string, unknown> = {
      v: 1,
      id,
      from: `Chaos Sender <sender@${CHAOS_DOMAIN}>`,
      to: of('to'),
      subject: `chaos job ${id}`,
      text: `Job ${id}, number ${index} of the fault-injection run.\n`,
    };
    if (of('cc').length > 0) job['cc'] = of('cc');
    if (of('bcc').length > 0) job['bcc'] = of('bcc');
    return { id, index, ...(groups === undefined ? {} : { group: `g${index % groups}` }), recipients, body: JSON.stringify(job) };
  });
}

/** Share of the jobs that are close to 1 MiB. */
const LARGE_JOB_SHARE = 0.02;

function largeJob(id: string, index: number, random: SeededRandom, groups: number | undefined): ChaosJob {
  const recipients: ChaosRecipient[] = [
    { address: `ok1+${id}@${CHAOS_DOMAIN}`, kind: 'ok', field: 'to' },
    { address: `later2+${id}@${CHAOS_DOMAIN}`, kind: 'later', field: 'cc' },
  ];
  // Short lines: each costs 2 bytes more once sent (CRLF) and escaped again in JSON.
  const text = '0123456789\n'.repeat(random.int(75_000, 85_000));
  const body = JSON.stringify({
    v: 1,
    id,
    from: `Chaos Sender <sender@${CHAOS_DOMAIN}>`,
    to: [recipients[0]!.address],
    cc: [recipients[1]!.address],
    subject: `chaos job ${id} (large)`,
    text,
  });
  return { id, index, ...(groups === undefined ? {} : { group: `g${index % groups}` }), recipients, body };
}

/**
 * Publishes the jobs in order, ten per request (FIFO: group and deduplication id set).
 * @param again picks jobs the producer publishes twice, the second time right after the first (a
 *   producer's retry; on FIFO with a new deduplication id, as a producer that makes one per attempt would)
 */
export async function publishJobs(sqs: SQSClient, queueUrl: string, jobs: readonly ChaosJob[], again?: (job: ChaosJob) => boolean): Promise<void> {
  // Batches of up to ten, within SQS's 1 MiB per request (a large job goes alone), in order.
  const batches: ChaosJob[][] = [];
  const sends = jobs.flatMap((job) => (again?.(job) === true ? [job, { ...job, again: true }] : [job]));
  for (const job of sends) {
    const last = batches.at(-1);
    const bytes = (last ?? []).reduce((sum, j) => sum + Buffer.byteLength(j.body), 0) + Buffer.byteLength(job.body);
    if (last !== undefined && last.length < 10 && bytes <= 1_000_000) last.push(job);
    else batches.push([job]);
  }
  for (const slice of batches) {
    const reply = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: slice.map((job, i) => ({
          Id: String(i),
          MessageBody: job.body,
          ...(job.group === undefined
            ? {}
            : { MessageGroupId: job.group, MessageDeduplicationId: (job as { again?: boolean }).again === true ? `${job.id}-again` : job.id }),
        })),
      }),
    );
    if ((reply.Failed ?? []).length > 0) throw new Error(`publishing failed: ${JSON.stringify(reply.Failed)}`);
  }
}

/** The envelope recipients a queued body holds (a raw job's envelope, else to, cc and bcc), lower case. */
export function recipientsOfBody(body: string): { jobId?: string; recipients: string[] } {
  try {
    const job = JSON.parse(body) as Record<string, unknown>;
    const list = (value: unknown): string[] =>
      (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((entry: unknown) => {
        if (typeof entry === 'string') return [(/<([^>]+)>/.exec(entry)?.[1] ?? entry).trim().toLowerCase()];
        if (typeof entry === 'object' && entry !== null && typeof (entry as { address?: unknown }).address === 'string')
          return [(entry as { address: string }).address.toLowerCase()];
        return [];
      });
    const raw = job['raw'] as { envelope?: { to?: unknown } } | undefined;
    const recipients = raw !== undefined ? list(raw.envelope?.to) : [...list(job['to']), ...list(job['cc']), ...list(job['bcc'])];
    return { ...(typeof job['id'] === 'string' ? { jobId: job['id'] } : {}), recipients };
  } catch {
    return { recipients: [] };
  }
}
