/**
 * A handler measured as a 128 MB function runs it: a bundle built with the Lambda's esbuild
 * settings, imported by a fresh Node process with the heap flags Lambda's runtime gives a function
 * of that memory ({@link lambdaNodeFlags}), the event parsed from a file as the
 * Lambda runtime does, the handler called once, and the process's own peak resident memory
 * (`VmHWM`, see {@link ChildReport.peakRssKb}) reported. Shared by the `memory` and `large` bench sections.
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { PROJECT_ROOT, SEND_MAIL_BUNDLE } from '../infra/sendMailBundle.js';

/** What one child process reported. */
export interface ChildReport {
  /** Time of the handler call (the batch), in milliseconds. */
  ms: number;
  /**
   * Peak resident memory of the process since it started, in KiB: `VmHWM` of `/proc/self/status`
   * (where there is none, `process.resourceUsage().maxRSS`). Not `maxRSS` on Linux: it keeps the
   * peak of the process image before `exec`, i.e. the parent's RSS when Node forked the child, so a
   * bench process holding 150 MiB made every child read at least ~150 MiB (measured).
   */
  peakRssKb: number;
  /** Resident memory after importing the bundle, before the event was read, in bytes. */
  importedRss: number;
  /** Records the handler reported failed (`batchItemFailures`). */
  failed: number;
  /** The end of what the child wrote on stderr besides its report (the handler's warnings and errors), when it wrote anything. */
  log?: string;
}

/** Options of {@link childProgram}. */
export interface ChildProgramOptions {
  /** What the context's `getRemainingTimeInMillis` answers. @default 60000 */
  remainingMs?: number;
}

/**
 * The child's program (an ES module for `node -e`): import the bundle, read the event, call the
 * handler once with a Lambda-like context, and write a {@link ChildReport} on stderr after `@@`.
 *
 * @example
 * const report = await runChild(childProgram(bundle.file, eventFile), env, 128);
 */
export function childProgram(bundleFile: string, eventFile: string, options: ChildProgramOptions = {}): string {
  const remainingMs = options.remainingMs ?? 60_000;
  return `
import { readFileSync } from 'node:fs';
const { handler } = await import(${JSON.stringify(pathToFileURL(bundleFile).href)});
const importedRss = process.memoryUsage().rss;
const event = JSON.parse(readFileSync(${JSON.stringify(eventFile)}, 'utf8'));
const deadline = Date.now() + ${remainingMs};
const context = {
  functionName: 'send-mail', functionVersion: '$LATEST', memoryLimitInMB: '128', awsRequestId: 'bench',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:send-mail', logGroupName: 'bench', logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => deadline - Date.now(),
};
const started = performance.now();
const result = await handler(event, context);
const ms = performance.now() - started;
let peakRssKb = process.resourceUsage().maxRSS;
try {
  peakRssKb = Number(/^VmHWM:\\s*(\\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
} catch {}
process.stderr.write('@@' + JSON.stringify({ ms, peakRssKb, importedRss, failed: result.batchItemFailures.length }) + '\\n');
process.exit(0);
`;
}

/** The memory size of the send-mail function (MB), which the bench's children are started for. */
export const FUNCTION_MEMORY_MB = 128;

/**
 * The flags the AWS Lambda Node.js runtime starts `node` with for a function of `memoryMb`: its
 * bootstrap (`/var/runtime/bootstrap` of the public nodejs base images, e.g. nodejs14.x and
 * nodejs18.x) takes a tenth of `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (integer division) as the new
 * space, half of that as `--max-semi-space-size` and the rest as `--max-old-space-size`, with
 * `--expose-gc` and `--max-http-header-size 81920`. For 128 MB: semi-space 6 MiB, old space 116 MiB.
 * (Without `--max-semi-space-size`, Node's default young generation here grew ~17 MiB larger.)
 */
export function lambdaNodeFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

/**
 * Runs `program` in a fresh Node process started with {@link lambdaNodeFlags} for `memoryMb` and
 * resolves with its report.
 *
 * @throws Error with the end of the child's stderr when it exits without a report (a crash, an
 *   out-of-memory abort, an exception in the handler).
 */
export function runChild(program: string, env: NodeJS.ProcessEnv, memoryMb: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...lambdaNodeFlags(memoryMb), '--input-type=module', '-e', program], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stderr.split('\n').find((l) => l.startsWith('@@'));
      const log = stderr
        .split('\n')
        .filter((l) => !l.startsWith('@@'))
        .join('\n')
        .trim()
        .slice(-2000);
      if (code === 0 && line !== undefined) resolve({ ...(JSON.parse(line.slice(2)) as ChildReport), ...(log === '' ? {} : { log }) });
      else reject(new Error(`handler process exited with ${code ?? signal ?? '?'}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

/**
 * Builds a bench handler (a file under `bench/`) with the Lambda bundle's esbuild settings into a
 * fresh temporary folder (remove `dir` when done).
 *
 * @param entry - the entry point, relative to the project root (e.g. `bench/nodemailerHandler.ts`)
 * @throws the esbuild error when it does not build
 */
export async function buildBenchBundle(entry: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-handler-'));
  const file = path.join(dir, 'index.mjs');
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [path.join(PROJECT_ROOT, entry)],
    bundle: true,
    platform: 'node',
    target: SEND_MAIL_BUNDLE.target,
    format: SEND_MAIL_BUNDLE.format,
    minify: SEND_MAIL_BUNDLE.minify,
    mainFields: [...SEND_MAIL_BUNDLE.mainFields],
    banner: { js: SEND_MAIL_BUNDLE.banner },
    outfile: file,
    logLevel: 'silent',
  });
  return { dir, file };
}

/** Builds `bench/nodemailerHandler.ts` (the minimal nodemailer handler for inline jobs); see {@link buildBenchBundle}. */
export function buildNodemailerBundle(): Promise<{ dir: string; file: string }> {
  return buildBenchBundle(path.join('bench', 'nodemailerHandler.ts'));
}

/**
 * The handler's environment but for the relay (`SMTP_URL`): the CA file, the per-connection count,
 * queue URLs (nothing listens at the defaults: a batch that goes well never calls SQS), fake AWS
 * credentials, quiet logs. `extra` is merged last.
 */
export function handlerEnv(caFile: string, jobs: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    SMTP_CA_FILE: caFile,
    MAIL_PER_CONNECTION: String(jobs),
    QUEUE_URL: 'http://127.0.0.1:9/000000000000/mail',
    DLQ_URL: 'http://127.0.0.1:9/000000000000/mail-dlq',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...extra,
  };
}
