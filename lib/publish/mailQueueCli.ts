/**
 * `mail-queue`: the program and its commands (publish: cli/publishCommands.ts; operate the queues:
 * cli/dlqCommands.ts, cli/statsCommand.ts). `cli.ts` runs it on the process's own streams.
 * @module
 */
import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE, type CliIo } from './cli/cliIo.js';
import { addDlqCommands } from './cli/dlqCommands.js';
import { addPublishCommands } from './cli/publishCommands.js';
import { addStatsCommand } from './cli/statsCommand.js';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type CliIo } from './cli/cliIo.js';

const ENVIRONMENT_HELP = `
Environment:
  MAIL_QUEUE_URL          queue URL when --queue-url is not given (QUEUE_URL works too);
                          with neither, the queue of a local run (npm start) found in
                          ./.local/state.json, with its endpoint, region and credentials
  MAIL_DLQ_URL            dead-letter queue URL when --dlq-url is not given (DLQ_URL works too)
  AWS_ENDPOINT_URL_SQS    SQS endpoint, e.g. a local emulator (same as --endpoint)
  AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...  the usual AWS settings and credentials

Exit status:
  0  every job was published (dlq, stats: done as asked)
  1  a job was refused (invalid) or SQS did not take it (dlq: a job not redriven, not found, not deleted)
  2  wrong usage: unknown option, no queue URL, unreadable file`;

/**
 * Runs `mail-queue` with `args` (without `node` and the script) and resolves with the exit status.
 * @example
 * process.exitCode = await runMailQueueCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
 */
export async function runMailQueueCli(args: readonly string[], io: CliIo): Promise<number> {
  let status = EXIT_OK;
  const program = new Command('mail-queue')
    .description(
      'Publish mail jobs to the outbound mail queue, and operate it. Each job is checked before it is sent: a job that is not valid is refused with the reason and never reaches the queue.',
    )
    .version('1', '-V, --version', 'print the job format version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .addHelpText(
      'after',
      `${ENVIRONMENT_HELP}

Examples:
  mail-queue send --to ann@example.com --subject "Hello" --text "Hi Ann"
  mail-queue send --file job.json
  mail-queue bulk jobs.ndjson
  produce-jobs | mail-queue bulk
  mail-queue stats --stack OutboundMail-prod
  mail-queue dlq list --since 2h
  mail-queue dlq show order-1234
  mail-queue dlq redrive --code 4xx --dry-run`,
    );

  addPublishCommands(program, io, (result) => {
    status = result;
  });
  addDlqCommands(program, io, (result) => {
    status = result;
  });
  addStatsCommand(program, io, (result) => {
    status = result;
  });

  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? EXIT_OK : EXIT_USAGE;
    }
    throw error;
  }
  return status;
}
