import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidEnvironmentConfigError } from '../../infra/errors.js';
import { PipelineSettingsError, functionEnvironmentOf, readPipelineSettings } from '../../lib/local/pipelineSettings.js';

describe('readPipelineSettings', () => {
  it("copies the dev environment of cdk.json with the construct's defaults (redrive after 5, visibility 6 x timeout)", async () => {
    expect(await readPipelineSettings('dev')).toEqual({
      environment: 'dev',
      region: 'eu-west-1',
      batchSize: 10,
      maxConcurrency: 2,
      memorySize: 256,
      timeoutSeconds: 60,
      batchingWindowSeconds: 0,
      visibilityTimeoutSeconds: 360,
      maxReceiveCount: 5,
      fifo: false,
      allowedRecipients: ['example.com'],
    });
  });

  it('passes allowedRecipients to the function as MAIL_ALLOWED_RECIPIENTS, as the stack does; none for production', async () => {
    expect(functionEnvironmentOf(await readPipelineSettings('dev'))).toEqual({
      MAIL_PER_CONNECTION: '10',
      MAIL_MAX_RECEIVES: '5',
      MAIL_ALLOWED_RECIPIENTS: 'example.com',
    });
    expect(functionEnvironmentOf(await readPipelineSettings('staging'))).toMatchObject({
      MAIL_ALLOWED_RECIPIENTS: 'example.com,.example.com,qa-inbox@example.net',
    });
    expect(functionEnvironmentOf(await readPipelineSettings('prod'))).not.toHaveProperty('MAIL_ALLOWED_RECIPIENTS');
  });

  it('passes maxRecipientsPerMessage to the function as MAIL_MAX_RECIPIENTS, as the stack does, and leaves it out when unset', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pipeline-'));
    try {
      const file = path.join(dir, 'cdk.json');
      const environment = {
        account: '123456789012',
        region: 'eu-west-1',
        secretCompleteArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-a1B2c3',
        mailPerConnection: 20,
        maxBatchingWindowSeconds: 1,
        maxConnections: 2,
        memorySize: 256,
        timeoutSeconds: 60,
        production: true,
      };
      await writeFile(
        file,
        JSON.stringify({ context: { environments: { ses: { ...environment, maxRecipientsPerMessage: 50 }, plain: environment } } }),
      );
      const ses = await readPipelineSettings('ses', file);
      expect(ses.maxRecipientsPerMessage).toBe(50);
      expect(functionEnvironmentOf(ses)).toEqual({ MAIL_PER_CONNECTION: '20', MAIL_MAX_RECIPIENTS: '50', MAIL_MAX_RECEIVES: '5' });
      const plain = await readPipelineSettings('plain', file);
      expect(plain).not.toHaveProperty('maxRecipientsPerMessage');
      expect(functionEnvironmentOf(plain)).toEqual({ MAIL_PER_CONNECTION: '20', MAIL_MAX_RECEIVES: '5' });
      // The queue's redrive count, as the stack passes it: the function dead-letters a job on that receive itself, with its reason.
      expect(functionEnvironmentOf(await readPipelineSettings('prod'))).toMatchObject({ MAIL_MAX_RECEIVES: '8' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('adds the batching window to the visibility timeout and takes an explicit maxReceiveCount (prod)', async () => {
    expect(await readPipelineSettings('prod')).toMatchObject({
      batchSize: 50,
      maxConcurrency: 20,
      batchingWindowSeconds: 5,
      visibilityTimeoutSeconds: 725,
      maxReceiveCount: 8,
    });
  });

  it('names the environments there are when asked for another, and the key of a malformed one', async () => {
    await expect(readPipelineSettings('qa')).rejects.toThrow(
      new PipelineSettingsError('--env: cdk.json has no environment "qa" (it has dev, staging, prod)'),
    );
    const dir = await mkdtemp(path.join(tmpdir(), 'pipeline-'));
    try {
      const file = path.join(dir, 'cdk.json');
      await writeFile(file, JSON.stringify({ context: { environments: { dev: { account: '1' } } } }));
      await expect(readPipelineSettings('dev', file)).rejects.toBeInstanceOf(InvalidEnvironmentConfigError);
      await expect(readPipelineSettings('dev', path.join(dir, 'missing.json'))).rejects.toBeInstanceOf(PipelineSettingsError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
