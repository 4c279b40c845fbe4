/**
 * The local run's pipeline settings for the `dev` environment of cdk.json (the construct's defaults:
 * redrive after 5 receives, visibility 6 x the timeout), for tests that start the local SQS emulator.
 */
import type { PipelineSettings } from '../../lib/local/pipelineSettings.js';

export const DEV_PIPELINE_SETTINGS: PipelineSettings = {
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
};
