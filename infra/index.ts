/**
 * The CDK construct of the product, for other CDK apps: `import { OutboundMail, RelayCa } from 'outbound-mail/infra'`.
 * Needs `aws-cdk-lib` 2 and `constructs` 10 in the app (peer dependencies); the send-mail
 * function's code ships prebuilt in the package (no esbuild or Docker needed at synth).
 * @module
 */
export { OutboundMail, SEND_MAIL_METRICS_SERVICE } from './OutboundMail.js';
export type { OutboundMailAlarms, OutboundMailProps, QueueParameters } from './OutboundMail.js';
export { DeliveryLedger } from './DeliveryLedger.js';
export { RelayCa, RELAY_CA_FILE_PATH } from './relayCa.js';
export type { RelayCaSource } from './relayCa.js';
export { DEFAULT_RELAY_PORTS, PRODUCER_ACTIONS } from './outboundMailDeployment.js';
export { allowedRecipientProblem, allowedRecipientsProblem } from './allowedRecipients.js';
export { InvalidOutboundMailPropsError } from './errors.js';
export { OUTBOUND_MAIL_DEFAULTS } from './outboundMailSettings.js';
