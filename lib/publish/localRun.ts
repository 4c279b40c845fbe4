/**
 * How `mail-queue` finds the queue of the local run (`npm start`) when it is given no queue URL:
 * the local run writes `.local/state.json` when it starts and removes it when it stops; the
 * CLI reads it from the folder it runs in (`npm run mail-queue` runs at the project root).
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The file, inside the local run's state folder, that describes the running instance. */
export const LOCAL_RUN_STATE_FILE = 'state.json';

/** The state folder `mail-queue` looks in, relative to its working directory. */
export const LOCAL_RUN_DIR = '.local';

/** What a running local run tells other processes about itself. */
export interface LocalRunState {
  /** The local run's process id; the file is ignored when no such process is alive. */
  pid: number;
  /** The SQS emulator, e.g. `http://127.0.0.1:9324`. */
  sqsEndpoint: string;
  region: string;
  queueUrl: string;
  dlqUrl: string;
  smtpPort: number;
  webUrl: string;
  /** Where the `.eml` files go. */
  mailDir: string;
  /** Credentials the emulator accepts (it checks none); never real ones. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The local claim-check bucket, for jobs over the offload threshold (`mail-queue send --attach` of any size). */
  payloadBucket?: string;
  /** The S3 emulator serving it; absent: the SQS endpoint (fauxqs serves both). */
  s3Endpoint?: string;
}

/**
 * Reads the state of the local run that holds `dir`, or `undefined` when there is none: no file,
 * a file that is not a local run's state, or one left by a process that is gone.
 * @example
 * const local = await readLocalRunState(path.resolve('.local'));
 * if (local) console.log(local.queueUrl);
 */
export async function readLocalRunState(dir: string): Promise<LocalRunState | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path.join(dir, LOCAL_RUN_STATE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isLocalRunState(value)) return undefined;
  return isAlive(value.pid) ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isLocalRunState(value: unknown): value is LocalRunState {
  if (!isRecord(value)) return false;
  const state = value;
  const credentials = state['credentials'];
  return (
    Number.isInteger(state['pid']) &&
    (state['pid'] as number) > 0 &&
    ['sqsEndpoint', 'region', 'queueUrl', 'dlqUrl', 'webUrl', 'mailDir'].every((key) => typeof state[key] === 'string') &&
    typeof state['smtpPort'] === 'number' &&
    isRecord(credentials) &&
    typeof credentials['accessKeyId'] === 'string' &&
    typeof credentials['secretAccessKey'] === 'string'
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
