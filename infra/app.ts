/**
 * Entry point of the CDK app, run by the CDK CLI (`cdk.json` "app"): `npm run synth`
 * synthesises every environment; `npx cdk synth -c env=prod` (or `deploy`) one of them.
 * @module
 */
import { App } from 'aws-cdk-lib';
import { addOutboundMailStacks } from './outboundMailApp.js';

const app = new App();
addOutboundMailStacks(app);
app.synth();
