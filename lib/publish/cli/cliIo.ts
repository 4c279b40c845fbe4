/**
 * What every `mail-queue` command shares: its streams and environment, and its exit statuses.
 * @module
 */

/** Exit status: the command did all it was asked (every job published, every dead letter redriven). */
export const EXIT_OK = 0;
/** Exit status: a job was refused or SQS did not take it, or SQS could not be reached. */
export const EXIT_FAILED = 1;
/** Exit status: wrong usage (unknown flag, no queue URL, unreadable file). */
export const EXIT_USAGE = 2;

/** Where the CLI reads and writes; the process's own streams in `cli.ts`. */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Where `.local/state.json` of a local run (`npm start`) is looked for. @default process.cwd() */
  cwd?: string;
}

export { UsageError } from '../jobFromFlags.js';

/** Writes `mail-queue: <message>` to stderr and returns {@link EXIT_USAGE}. */
export function usage(io: CliIo, error: unknown): number {
  io.stderr.write(`mail-queue: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_USAGE;
}

/** Writes `mail-queue: <message>` to stderr and returns {@link EXIT_FAILED}. */
export function failed(io: CliIo, error: unknown): number {
  const text = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  io.stderr.write(`mail-queue: ${text}\n`);
  return EXIT_FAILED;
}
