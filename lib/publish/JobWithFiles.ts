import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { contentJobIdOf, contentJobText } from '../message/contentJobId.js';
import { parseMailJob } from '../message/parseMailJob.js';
import { queueJson } from '../message/queueBody.js';
import type { AttachmentInput, ComposedMailJob, ComposedMailJobInput } from '../message/types.js';
import type { JobPayload } from './payloadOffload.js';

/** A file to attach, read from disk when the job is published. */
export interface FileAttachment {
  path: string;
  filename: string;
  contentType: string;
  /** Makes it an inline part (referenced as `cid:` from the HTML). */
  contentId?: string;
}

/** A valid base64 stand-in for a file's content while the rest of the job is checked. */
const CHECK_CONTENT = 'AAAA';
/** Read size: a multiple of 3, so that each read becomes base64 on its own. */
const READ_BYTES = 3 * 256 * 1024;

/**
 * A job whose attachments are files on disk, for jobs too large to hold as one string: its JSON is
 * produced as a stream (the JSON before the first file, that file in base64, the JSON up to the
 * next, ...) and uploaded as the claim check, so a 40 MB attachment is never in memory whole, let
 * alone three times (file, base64, JSON). Its size is known before a byte is read (base64 of a
 * known length), so it is checked against the queue's limits first.
 * @example
 * const job = await JobWithFiles.of({ v: 1, to: 'ann@example.com', subject: 'Report', text: 'Attached.' },
 *   [{ path: 'report.pdf', filename: 'report.pdf', contentType: 'application/pdf' }]);
 * await queue.send(job);
 */
export class JobWithFiles {
  /** The job with the files' attachments appended, each with a small stand-in content: what is checked. */
  readonly checkJob: ComposedMailJobInput;
  /** Exact octets of the job's JSON with the files' contents. */
  readonly bytes: number;
  readonly #pieces: Buffer[];
  readonly #files: readonly FileAttachment[];
  readonly #job: ComposedMailJobInput;

  private constructor(
    job: ComposedMailJobInput,
    checkJob: ComposedMailJobInput,
    pieces: Buffer[],
    files: readonly FileAttachment[],
    sizes: readonly number[],
  ) {
    this.#job = job;
    this.checkJob = checkJob;
    this.#pieces = pieces;
    this.#files = files;
    this.bytes = pieces.reduce((sum, piece) => sum + piece.length, 0) + sizes.reduce((sum, size) => sum + 4 * Math.ceil(size / 3), 0);
  }

  /**
   * The job with `files` attached after its own attachments; the files' sizes are read now.
   * @throws the file system's error for a file that cannot be read.
   */
  static async of(job: ComposedMailJobInput, files: readonly FileAttachment[]): Promise<JobWithFiles> {
    const sizes = await Promise.all(files.map(async (file) => (await stat(file.path)).size));
    const markers = files.map((_, index) => `file-${index}-${randomUUID()}`);
    const withMarkers = withAttachments(
      job,
      files.map((file, index) => attachment(file, markers[index] ?? '')),
    );
    let rest = queueJson(withMarkers);
    const pieces: Buffer[] = [];
    for (const marker of markers) {
      const at = rest.indexOf(marker);
      pieces.push(Buffer.from(rest.slice(0, at), 'utf8'));
      rest = rest.slice(at + marker.length);
    }
    pieces.push(Buffer.from(rest, 'utf8'));
    const checkJob = withAttachments(
      job,
      files.map((file) => attachment(file, CHECK_CONTENT)),
    );
    return new JobWithFiles(job, checkJob, pieces, files, sizes);
  }

  /** The job's JSON, produced as it is read: for an upload of exactly {@link bytes} octets. */
  payload(): JobPayload {
    const pieces = this.#pieces;
    const files = this.#files;
    return {
      bytes: this.bytes,
      async *chunks() {
        for (const [index, piece] of pieces.entries()) {
          yield piece;
          const file = files[index];
          if (file !== undefined) yield* base64Of(file.path);
        }
      },
    };
  }

  /**
   * This job with its content-derived `id` when it has none: the id `contentJobId` gives the whole
   * job (the files' content in it), computed with the files read as a stream, never whole in
   * memory. So the same job has the same id whether it goes inline or through S3, and whether its
   * files were given as files or as base64 in the JSON.
   * @throws {InvalidJobError} when the job is not valid
   */
  async withContentId(): Promise<JobWithFiles> {
    if (this.#job.id !== undefined) return this;
    const checked = parseMailJob(this.checkJob) as ComposedMailJob; // checkJob is a composed job
    // The files are the last attachments: each one's content becomes a marker, replaced by the file's base64 as it is hashed.
    const first = checked.attachments.length - this.#files.length;
    const markers = this.#files.map(() => randomBytes(24));
    const attachments = checked.attachments.map((a, index) => (index < first ? a : { ...a, content: markers[index - first] ?? new Uint8Array() }));
    let rest = contentJobText({ ...checked, attachments });
    const hash = createHash('sha256');
    for (const [index, marker] of markers.entries()) {
      const text = `{"base64":"${marker.toString('base64')}"}`;
      const at = rest.indexOf(text);
      hash.update(`${rest.slice(0, at)}{"base64":"`);
      for await (const chunk of base64Of(this.#files[index]?.path ?? '')) hash.update(chunk);
      hash.update('"}');
      rest = rest.slice(at + text.length);
    }
    hash.update(rest);
    return JobWithFiles.of({ ...this.#job, id: contentJobIdOf(hash) }, this.#files);
  }

  /** The whole job in memory, files read and encoded: for a job small enough to go inline. */
  async job(): Promise<ComposedMailJobInput> {
    const contents = await Promise.all(this.#files.map(async (file) => (await readFile(file.path)).toString('base64')));
    return withAttachments(
      this.#job,
      this.#files.map((file, index) => attachment(file, contents[index] ?? '')),
    );
  }
}

/** The job with `more` attachments after its own; without any, the job as it is. */
function withAttachments(job: ComposedMailJobInput, more: AttachmentInput[]): ComposedMailJobInput {
  return more.length === 0 ? job : { ...job, attachments: [...(job.attachments ?? []), ...more] };
}

function attachment(file: FileAttachment, content: string): AttachmentInput {
  return { filename: file.filename, contentType: file.contentType, content, ...(file.contentId === undefined ? {} : { contentId: file.contentId }) };
}

/** A file's content as base64 (no line breaks), read in pieces; octets left over from a read wait for the next. */
async function* base64Of(path: string): AsyncIterable<Uint8Array> {
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BYTES }) as AsyncIterable<Buffer>) {
    const bytes = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const whole = bytes.length - (bytes.length % 3);
    carry = Buffer.from(bytes.subarray(whole));
    if (whole > 0) yield Buffer.from(bytes.subarray(0, whole).toString('base64'), 'latin1');
  }
  if (carry.length > 0) yield Buffer.from(carry.toString('base64'), 'latin1');
}
