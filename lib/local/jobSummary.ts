/**
 * What the live view and the web page show of a job taken from the queue: its id, subject and
 * recipients, read leniently from the message body (a job the handler will refuse still gets a
 * line). Only for display: the handler parses jobs itself, strictly.
 * @module
 */

/** The displayable parts of a queue message's body. */
export interface JobSummary {
  jobId?: string;
  subject: string;
  /** Envelope recipients as written in the job (to, cc, bcc; or a raw job's envelope). */
  recipients: string[];
}

/**
 * Reads what can be shown of a job body.
 * @example
 * jobSummary('{"v":1,"id":"a1","to":"Ann <ann@example.com>","subject":"Hi","text":"…"}');
 * // { jobId: 'a1', subject: 'Hi', recipients: ['ann@example.com'] }
 */
export function jobSummary(body: string): JobSummary {
  let job: unknown;
  try {
    job = JSON.parse(body);
  } catch {
    return { subject: '(not JSON)', recipients: [] };
  }
  if (typeof job !== 'object' || job === null || Array.isArray(job)) return { subject: '(not a job object)', recipients: [] };
  const fields = job as Record<string, unknown>;
  const summary: JobSummary = { subject: '', recipients: [] };
  if (typeof fields['id'] === 'string') summary.jobId = fields['id'];
  const raw = fields['raw'];
  if (typeof raw === 'object' && raw !== null) {
    const { envelope, message } = raw as { envelope?: { to?: unknown }; message?: unknown };
    summary.recipients = addresses(envelope?.to);
    summary.subject = typeof message === 'string' ? subjectOf(message) : '';
    return summary;
  }
  summary.subject = typeof fields['subject'] === 'string' ? fields['subject'] : '';
  summary.recipients = [...addresses(fields['to']), ...addresses(fields['cc']), ...addresses(fields['bcc'])];
  return summary;
}

function addresses(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list.map((entry) => {
    if (typeof entry === 'string') return /<([^<>]*)>\s*$/.exec(entry)?.[1] ?? entry.trim();
    if (typeof entry === 'object' && entry !== null && typeof (entry as { address?: unknown }).address === 'string') {
      return (entry as { address: string }).address;
    }
    return String(entry);
  });
}

/** The Subject header of a raw message (unfolded; encoded words left as they are). */
function subjectOf(message: string): string {
  const headerEnd = message.search(/\r?\n\r?\n/);
  const header = (headerEnd === -1 ? message : message.slice(0, headerEnd)).replace(/\r?\n[ \t]+/g, ' ');
  return /^subject:[ \t]*(.*)$/im.exec(header)?.[1]?.trim() ?? '';
}
