/**
 * The issues `parseMailJob` refuses a job with, for the tests that assert them.
 * @module
 */
import { InvalidJobError, parseMailJob, type JobIssue } from '../../lib/message/index.js';

/** The issues parseMailJob throws for `input` (fails the test when it does not throw). */
export function issuesOf(input: unknown): readonly JobIssue[] {
  try {
    parseMailJob(input);
  } catch (error) {
    if (error instanceof InvalidJobError) return error.issues;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}
