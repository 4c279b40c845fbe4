/**
 * The send-mail Lambda's bundle: its size (what is uploaded and loaded) and its cold import time
 * (what every cold start pays before the handler runs), measured on the very file `cdk synth`
 * builds: esbuild with the NodejsFunction's settings from `infra/sendMailBundle.ts`.
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildHandlerBundle } from '../lib/local/buildHandlerBundle.js';
import type { BenchSection } from './report.js';
import { fixed, markdownTable, median } from './report.js';

/** Where a bundle was built. */
export interface SendMailBundle {
  /** Folder holding `index.mjs` and `index.mjs.map`; remove it when done. */
  dir: string;
  /** Absolute path of `index.mjs`. */
  file: string;
}

/**
 * Builds the send-mail bundle into a fresh temporary folder with the settings the
 * `OutboundMail` construct gives `NodejsFunction` (the same esbuild flags `cdk synth` runs).
 *
 * @throws the esbuild error when the entry point does not build.
 * @example
 * ```ts
 * const bundle = await buildSendMailBundle();
 * // ... use bundle.file ...
 * await rm(bundle.dir, { recursive: true, force: true });
 * ```
 */
export async function buildSendMailBundle(): Promise<SendMailBundle> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'send-mail-bundle-'));
  const { file } = await buildHandlerBundle(dir);
  return { dir, file };
}

/** What {@link measureLambdaBundle} found. Sizes in bytes, times in milliseconds. */
export interface LambdaBundleMeasurement {
  bundleBytes: number;
  bundleGzipBytes: number;
  sourceMapBytes: number;
  sourceMapGzipBytes: number;
  /** Median wall time of `node -e 0`: Node's own start-up. */
  nodeBaselineMs: number;
  /** Median wall time of a fresh `node` importing the bundle. */
  importMs: number;
  /** The same with `--enable-source-maps`, as the function runs (`NODE_OPTIONS`). */
  importWithSourceMapsMs: number;
  /** How many spawns each median is taken over. */
  runs: number;
  nodeVersion: string;
}

/** Settings the function needs at import (lib/config.ts reads them at cold start); nothing is contacted. */
const IMPORT_ENVIRONMENT = {
  SMTP_URL: 'smtp://bench:bench@127.0.0.1:2525',
  MAIL_PER_CONNECTION: '10',
  QUEUE_URL: 'http://127.0.0.1:9/000000000000/mail',
  DLQ_URL: 'http://127.0.0.1:9/000000000000/mail-dlq',
  AWS_REGION: 'eu-west-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};

/** Runs `node args` to completion and resolves with its wall time; rejects when it fails. */
function timeNode(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const elapsed = performance.now() - started;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/**
 * Builds the send-mail bundle and measures it: size raw and gzipped (the Lambda code is uploaded
 * as a zip, which compresses about as gzip does), and the cold import time, as the median over
 * `runs` fresh `node` processes of importing it, next to the median of `node -e 0`. The three
 * kinds of spawn take turns, so load on the machine hits them alike.
 *
 * @param options.runs - spawns per median (default 15).
 * @param options.log - progress lines (default: none).
 * @throws when the bundle does not build or does not import (its error is in the message).
 * @example
 * ```ts
 * const measured = await measureLambdaBundle({ runs: 9 });
 * console.log(markdownTable(['measure', 'value'], lambdaBundleRows(measured)));
 * ```
 */
export async function measureLambdaBundle(options: { runs?: number; log?: (line: string) => void } = {}): Promise<LambdaBundleMeasurement> {
  const runs = options.runs ?? 15;
  const log = options.log ?? (() => {});
  const bundle = await buildSendMailBundle();
  try {
    const code = await readFile(bundle.file);
    const map = await readFile(`${bundle.file}.map`);
    const env: NodeJS.ProcessEnv = { ...process.env, ...IMPORT_ENVIRONMENT };
    delete env['NODE_OPTIONS'];
    const importScript = `await import(${JSON.stringify(pathToFileURL(bundle.file).href)});`;
    const baseline: number[] = [];
    const plain: number[] = [];
    const mapped: number[] = [];
    // One unmeasured round first: fills the file cache and checks that the bundle imports.
    await timeNode(['--input-type=module', '-e', importScript], env);
    for (let run = 0; run < runs; run += 1) {
      baseline.push(await timeNode(['-e', '0'], env));
      plain.push(await timeNode(['--input-type=module', '-e', importScript], env));
      mapped.push(await timeNode(['--enable-source-maps', '--input-type=module', '-e', importScript], env));
      log(`bundle import ${run + 1}/${runs}`);
    }
    return {
      bundleBytes: code.byteLength,
      bundleGzipBytes: gzipSync(code).byteLength,
      sourceMapBytes: map.byteLength,
      sourceMapGzipBytes: gzipSync(map).byteLength,
      nodeBaselineMs: median(baseline),
      importMs: median(plain),
      importWithSourceMapsMs: median(mapped),
      runs,
      nodeVersion: process.versions.node,
    };
  } finally {
    await rm(bundle.dir, { recursive: true, force: true });
  }
}

const kib = (bytes: number): string => `${fixed(bytes / 1024, 1)} KiB`;
const ms = (value: number): string => `${fixed(value, 1)} ms`;

/** The rows of the bundle table: `[what, value]`, sizes in KiB and times in ms. */
export function lambdaBundleRows(measured: LambdaBundleMeasurement): string[][] {
  return [
    ['bundle `index.mjs` (raw / gzip)', `${kib(measured.bundleBytes)} / ${kib(measured.bundleGzipBytes)}`],
    ['source map `index.mjs.map` (raw / gzip)', `${kib(measured.sourceMapBytes)} / ${kib(measured.sourceMapGzipBytes)}`],
    [`\`node -e 0\` (median of ${measured.runs})`, ms(measured.nodeBaselineMs)],
    ['fresh `node` importing the bundle', `${ms(measured.importMs)} (+${ms(measured.importMs - measured.nodeBaselineMs)})`],
    [
      'same with `--enable-source-maps` (as deployed)',
      `${ms(measured.importWithSourceMapsMs)} (+${ms(measured.importWithSourceMapsMs - measured.nodeBaselineMs)})`,
    ],
  ];
}

/** The bench section for `npm run bench -- bundle`. */
export const lambdaBundleSection: BenchSection = {
  name: 'bundle',
  title: 'send-mail Lambda bundle: size and cold import',
  async run(log) {
    const measured = await measureLambdaBundle({ log });
    return [
      `Built with the NodejsFunction's esbuild settings (ESM, minified, SDK bundled, external source map); ` +
        `imported by fresh Node ${measured.nodeVersion} processes; the "+" is the import's own cost over Node's start-up.`,
      '',
      markdownTable(['measure', 'value'], lambdaBundleRows(measured)),
    ].join('\n');
  },
};
