/**
 * The local run (`npm start`) and the `mail-queue` CLI as child processes for the tests: Node 24
 * with tsx, as the npm scripts run them; output collected; stopped by PID with SIGINT, as Ctrl-C.
 * @module
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inspect } from 'node:util';
import type { LocalRunState } from '../../lib/publish/localRun.js';

/** The repository's root. */
export const ROOT = path.resolve(import.meta.dirname, '../..');

/** tsx's loader, resolved from here: `--import tsx` alone resolves from the child's working folder. */
const TSX = import.meta.resolve('tsx');

/** What a finished process left. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running local run. */
export interface LocalRunProcess {
  child: ChildProcessWithoutNullStreams;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves when the process has ended. */
  exited: Promise<Finished>;
}

/** The environment of the children: no AWS settings of the machine, no colours. */
function childEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const {
    MAIL_QUEUE_URL: _a,
    QUEUE_URL: _b,
    AWS_ENDPOINT_URL_SQS: _c,
    AWS_ENDPOINT_URL: _d,
    AWS_PROFILE: _e,
    LOCAL_STATE_DIR: _f,
    ...inherited
  } = process.env;
  return { ...inherited, NO_COLOR: '1', ...extra };
}

/** Starts `lib/local/main.ts` with `args` (what `npm start -- args` runs). */
export function spawnLocalRun(args: string[]): LocalRunProcess {
  const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'lib/local/main.ts'), ...args], {
    cwd: ROOT,
    env: childEnvironment(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

/**
 * Waits until the run says it is ready (its banner ends with "Ctrl-C stops everything.") and
 * returns the state it wrote; rejects with its output when it ends first.
 */
export async function whenReady(run: LocalRunProcess, stateDir: string, timeoutMs = 30_000): Promise<LocalRunState> {
  const ended = run.exited.then((finished) => {
    throw new Error(`the local run ended before it was ready (code ${finished.code}):\n${finished.stdout}\n${finished.stderr}`);
  });
  const ready = (async () => {
    const until = Date.now() + timeoutMs;
    while (!run.output().stdout.includes('Ctrl-C stops everything.')) {
      if (Date.now() > until) throw new Error(`the local run was not ready in ${timeoutMs} ms:\n${run.output().stdout}\n${run.output().stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return JSON.parse(await readFile(path.join(stateDir, 'state.json'), 'utf8')) as LocalRunState;
  })();
  return Promise.race([ready, ended]);
}

/** Sends SIGINT (Ctrl-C) to the run by its PID and waits for it to end. */
export async function interrupt(run: LocalRunProcess): Promise<Finished> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGINT');
  return run.exited;
}

/** Runs `mail-queue args` to completion in `cwd` (where it looks for `.local/state.json`). */
export function mailQueue(args: string[], cwd: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'lib/publish/cli.ts'), ...args], {
      cwd,
      env: childEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Polls `probe` every 200 ms until it returns a value, or fails after `timeoutMs` with the last problem. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until)
      throw new Error(
        `${what}: not reached in ${timeoutMs} ms${last === undefined ? '' : ` (${last instanceof Error ? String(last) : inspect(last)})`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
