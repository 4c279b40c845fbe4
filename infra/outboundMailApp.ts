/**
 * The CDK app of the product: one {@link OutboundMailStack} per environment of `cdk.json` (or the
 * one picked with `-c env=NAME`), checked by the cdk-nag AwsSolutions and Serverless packs.
 * `infra/app.ts` runs it for the CDK CLI; the tests build it the same way.
 * @module
 */
import { Validations } from 'aws-cdk-lib';
import type { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ENVIRONMENTS_CONTEXT_KEY, SELECTED_ENVIRONMENT_CONTEXT_KEY, parseEnvironments, selectEnvironments } from './config.js';
import { OutboundMailStack } from './OutboundMailStack.js';

/** Name of the stack of an environment: `OutboundMail-prod`. */
export function stackNameOf(environment: string): string {
  return `OutboundMail-${environment}`;
}

/**
 * The cdk-nag rule packs the product is held to: AwsSolutions and Serverless. Acknowledged
 * findings (`Validations.of(construct).acknowledge({ id, reason })`) live next to the resources
 * they concern, each with its reason.
 */
export function nagPacks(scope?: IConstruct): [AwsSolutionsChecks, ServerlessChecks] {
  return [new AwsSolutionsChecks(scope, { verbose: true }), new ServerlessChecks(scope, { verbose: true })];
}

/**
 * Registers the {@link nagPacks} as validation plugins of `app`: every synthesis runs them, and
 * an unacknowledged finding stops it with cdk-nag's report.
 */
export function applyNagPacks(app: App): void {
  Validations.of(app).addPlugins(...nagPacks(app));
}

/**
 * Adds the stacks of the selected environments to `app`: all environments of the `environments`
 * context, or only the one named by the `env` context (`cdk synth -c env=prod`).
 *
 * @returns the stacks added, in the order `cdk.json` lists their environments.
 * @throws {@link InvalidEnvironmentConfigError} naming the context value that is missing,
 *   malformed, or contradicts another.
 * @throws {@link UnknownEnvironmentError} when `-c env=NAME` names no environment.
 * @example
 * ```ts
 * const app = new App();
 * addOutboundMailStacks(app);
 * app.synth();
 * ```
 */
export function addOutboundMailStacks(app: App): OutboundMailStack[] {
  const environments = parseEnvironments(app.node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY));
  const selected = selectEnvironments(environments, app.node.tryGetContext(SELECTED_ENVIRONMENT_CONTEXT_KEY));
  const stacks = selected.map((environment) => new OutboundMailStack(app, stackNameOf(environment.name), { environment }));
  applyNagPacks(app);
  return stacks;
}
