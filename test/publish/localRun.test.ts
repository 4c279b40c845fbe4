import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalRunState } from '../../lib/publish/localRun.js';
import type { LocalRunState } from '../../lib/publish/localRun.js';

let dir: string;
const state = (pid: number): LocalRunState => ({
  pid,
  sqsEndpoint: 'http://127.0.0.1:9324',
  region: 'eu-west-1',
  queueUrl: 'http://sqs.eu-west-1.localhost:9324/000000000000/mail',
  dlqUrl: 'http://sqs.eu-west-1.localhost:9324/000000000000/mail-dlq',
  smtpPort: 2587,
  webUrl: 'http://127.0.0.1:8025/',
  mailDir: '/tmp/mail',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readLocalRunState', () => {
  it('returns the state of a living local run', async () => {
    await writeFile(path.join(dir, 'state.json'), JSON.stringify(state(process.pid)));
    expect(await readLocalRunState(dir)).toEqual(state(process.pid));
  });

  it('ignores the state a run that is gone left behind', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(path.join(dir, 'state.json'), JSON.stringify(state(gone)));
    expect(await readLocalRunState(dir)).toBeUndefined();
  });

  it('ignores a missing, malformed or foreign file', async () => {
    expect(await readLocalRunState(path.join(dir, 'nowhere'))).toBeUndefined();
    await writeFile(path.join(dir, 'state.json'), '{"pid":');
    expect(await readLocalRunState(dir)).toBeUndefined();
    const { credentials: _credentials, ...partial } = state(process.pid);
    await writeFile(path.join(dir, 'state.json'), JSON.stringify(partial));
    expect(await readLocalRunState(dir)).toBeUndefined();
  });
});
