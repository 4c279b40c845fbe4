/**
 * The send-mail Lambda function itself: the prebuilt bundle when the construct runs from the
 * installed package, `NodejsFunction` bundling at synth when it runs from this repository (see
 * `sendMailCode.ts`); the same runtime, handler and settings either way.
 * @module
 */
import path from 'node:path';
import { Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { FunctionOptions } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { DEPS_LOCK_FILE, PROJECT_ROOT, SEND_MAIL_BUNDLE, SEND_MAIL_ENTRY, SEND_MAIL_HANDLER } from './sendMailBundle.js';
import { prebuiltSendMailCode } from './sendMailCode.js';

/** A file to put next to the handler in the function's code (e.g. the relay's CA). */
export interface BundledFile {
  /** Absolute path of the file at synth. */
  readonly file: string;
  /** Its name in the code's folder (`/var/task/<name>` at run time). */
  readonly name: string;
}

/**
 * Creates the send-mail function on Node 24 with `options` (memory, timeout, role, environment,
 * VPC, ...), its code prebuilt or bundled now, with `extra` copied into the code's folder.
 *
 * @param prebuiltDir - where to look for the prebuilt bundle (tests give another folder).
 * @example
 * const fn = createSendMailFunction(this, 'SendMail', { role, memorySize: 256, environment });
 */
export function createSendMailFunction(
  scope: Construct,
  id: string,
  options: FunctionOptions,
  extra?: BundledFile,
  prebuiltDir?: string,
): LambdaFunction {
  const prebuilt = prebuiltSendMailCode(extra, prebuiltDir);
  if (prebuilt !== undefined) {
    return new LambdaFunction(scope, id, {
      ...options,
      code: prebuilt,
      handler: `index.${SEND_MAIL_HANDLER}`,
      runtime: Runtime.NODEJS_24_X,
    });
  }
  return new NodejsFunction(scope, id, {
    ...options,
    entry: SEND_MAIL_ENTRY,
    handler: SEND_MAIL_HANDLER,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: DEPS_LOCK_FILE,
    runtime: Runtime.NODEJS_24_X,
    bundling: {
      format: OutputFormat.ESM,
      target: SEND_MAIL_BUNDLE.target,
      minify: SEND_MAIL_BUNDLE.minify,
      keepNames: SEND_MAIL_BUNDLE.keepNames,
      sourceMap: SEND_MAIL_BUNDLE.sourceMap,
      sourcesContent: SEND_MAIL_BUNDLE.sourcesContent,
      mainFields: [...SEND_MAIL_BUNDLE.mainFields],
      banner: SEND_MAIL_BUNDLE.banner,
      externalModules: [...SEND_MAIL_BUNDLE.externalModules],
      ...(extra === undefined ? {} : { commandHooks: copyIntoBundle(extra) }),
    },
  });
}

/** esbuild command hooks that copy the file into the bundle's folder (quoted for the shell NodejsFunction runs them in). */
function copyIntoBundle(extra: BundledFile): ICommandHooks {
  const quote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir, outputDir) => [`cp ${quote(extra.file)} ${quote(path.join(outputDir, extra.name))}`],
  };
}
