/**
 * Building the CDK app in tests the way the CDK CLI does: with `cdk.json`'s context (the
 * environments and the feature flags), optionally without bundling the Lambda (the bundle is
 * built for real by the CLI synth test; the other tests only look at the templates).
 * @module
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';

/** The repository's `cdk.json`, parsed. */
export const CDK_JSON = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
};

/** A fresh copy of `cdk.json`'s context, safe to change. */
export function cdkContext(): Record<string, unknown> {
  return structuredClone(CDK_JSON.context);
}

/** The environment names `cdk.json` defines, in its order. */
export function cdkEnvironmentNames(): string[] {
  return Object.keys(CDK_JSON.context['environments'] as Record<string, unknown>);
}

/**
 * A CDK `App` with `cdk.json`'s context plus `extra` (as `-c key=value` would add). Bundling is
 * skipped unless `bundle` is true: assets then get a hash of their construct path instead of the
 * bundle's, which the snapshots replace anyway.
 */
export function testApp(extra: Record<string, unknown> = {}, options: { bundle?: boolean } = {}): App {
  return new App({
    context: {
      ...cdkContext(),
      ...(options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...extra,
    },
  });
}

/** Placeholder for asset hashes (S3 keys of bundles) in snapshots. */
export const ASSET_HASH_PLACEHOLDER = '<asset-hash>';

/**
 * A copy of a CloudFormation template with every asset hash (64 hex digits, as in the Lambda
 * code's S3 key) replaced by {@link ASSET_HASH_PLACEHOLDER}, so snapshots do not change when the
 * function's code does.
 */
export function withStableAssetHashes<T>(template: T): T {
  return JSON.parse(JSON.stringify(template), (_key, value: unknown) =>
    typeof value === 'string' ? value.replace(/\b[a-f0-9]{64}\b/g, ASSET_HASH_PLACEHOLDER) : value,
  ) as T;
}
