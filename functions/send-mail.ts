/**
 * The send-mail Lambda: SQS mail jobs in, one SMTP connection per batch, partial batch failures
 * out. Wiring only: configuration (read and checked once, at cold start), Powertools logger and
 * metrics (dimensions `service` and `Environment`, from `MAIL_ENVIRONMENT`), and one call into `lib/delivery`.
 *
 * middy's own early timeout is off (`timeoutEarlyInMillis: 0`): it would fail the whole batch,
 * mail already delivered included; the delivery watches the remaining time itself and answers
 * with what it did.
 * @module
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config.js';
import { createSendMailHandler } from '../lib/delivery/index.js';

const config = loadConfig(process.env);
const logger = new Logger({ serviceName: 'send-mail' });
// Every metric carries the environment (MAIL_ENVIRONMENT), so that environments sharing an account never mix.
const metrics = new Metrics({
  namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? 'OutboundMail',
  serviceName: 'send-mail',
  ...(config.environment === undefined ? {} : { defaultDimensions: { Environment: config.environment } }),
});

/**
 * The Lambda handler.
 * @example
 * // infra: new NodejsFunction(this, 'SendMail', { entry: 'functions/send-mail.ts', handler: 'handler' })
 */
export const handler = middy<SQSEvent, SQSBatchResponse>(createSendMailHandler(config, { log: logger, metrics }), { timeoutEarlyInMillis: 0 })
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
