/**
 * Runs `mail-queue` in this process (runMailQueueCli) with captured streams: for the operator
 * commands' tests, which need a terminal or not, a working folder, and the coverage of the code.
 * @module
 */
import { PassThrough, Writable } from 'node:stream';
import { runMailQueueCli } from '../../lib/publish/mailQueueCli.js';

/** What a run printed and its exit status. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `mail-queue args`. `stdin` is written to its standard input (then closed); `tty` makes
 * stdin look like a terminal.
 */
export async function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string; tty?: boolean } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty === true });
  stdin.end(options.stdin ?? '');
  const code = await runMailQueueCli(args, {
    stdin,
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    env: options.env ?? {},
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return { code, stdout, stderr };
}

/** Replaces what changes from run to run (UUIDs, times) so that output can be compared exactly. */
export function stable(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
    .replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/g, 'TIME')
    .replace(/^ {2}Date: .*$/gm, '  Date: DATE')
    .replace(/boundary="[^"]+"/g, 'boundary="B"');
}
