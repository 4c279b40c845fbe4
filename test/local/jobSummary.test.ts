import { describe, expect, it } from 'vitest';
import { jobSummary } from '../../lib/local/jobSummary.js';

describe('jobSummary', () => {
  it('takes the id, subject and every envelope recipient of a composed job, in the forms producers write them', () => {
    const body = JSON.stringify({
      v: 1,
      id: 'order-1',
      to: ['Ann <ann@example.com>', { name: 'Bob', address: 'bob@example.com' }],
      cc: 'carol@example.com',
      bcc: ['"Dan D." <dan@example.com>'],
      subject: 'Your order',
      text: 'Thanks',
    });
    expect(jobSummary(body)).toEqual({
      jobId: 'order-1',
      subject: 'Your order',
      recipients: ['ann@example.com', 'bob@example.com', 'carol@example.com', 'dan@example.com'],
    });
  });

  it("takes a raw job's envelope and its unfolded Subject header", () => {
    const message = 'From: a@example.com\r\nSubject: A long\r\n subject line\r\nTo: b@example.com\r\n\r\nSubject: not this one\r\n';
    expect(jobSummary(JSON.stringify({ v: 1, raw: { envelope: { from: 'a@example.com', to: ['b@example.com'] }, message } }))).toEqual({
      subject: 'A long subject line',
      recipients: ['b@example.com'],
    });
  });

  it('still gives a line for bodies that are not jobs', () => {
    expect(jobSummary('not json')).toEqual({ subject: '(not JSON)', recipients: [] });
    expect(jobSummary('[1,2]')).toEqual({ subject: '(not a job object)', recipients: [] });
    expect(jobSummary('{"v":1,"to":"nobody","subject":7}')).toEqual({ subject: '', recipients: ['nobody'] });
  });
});
