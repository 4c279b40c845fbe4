/**
 * Where the send-mail function's code comes from, so that the `OutboundMail` construct works the
 * same from this repository and from another CDK app that installed the package:
 *
 * - installed (the package's `dist/cdk/infra/*.js`): the bundle built by `npm run build`
 *   (`scripts/buildConstruct.ts`, the same esbuild settings as `SEND_MAIL_BUNDLE`) ships in the
 *   package at `dist/cdk/send-mail/index.mjs`, found next to this module, and is deployed as it
 *   is with `Code.fromAsset`: the other app needs neither esbuild nor Docker nor this repository's
 *   layout or lock file;
 * - in this repository (`infra/*.ts`): no such folder exists next to the module, and
 *   `NodejsFunction` bundles `functions/send-mail.ts` at synth, as before.
 *
 * A CA file (`RelayCa.fromFile`) goes into the asset's folder either way.
 * @module
 */
import { copyFileSync, cpSync, existsSync } from 'node:fs';
import path from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';

/** The folder of the prebuilt bundle: `<package>/dist/cdk/send-mail` seen from `dist/cdk/infra`. */
export const PREBUILT_SEND_MAIL_DIR = path.resolve(import.meta.dirname, '..', 'send-mail');

/** The prebuilt bundle's file; its `handler` export is the function's handler (`index.handler`). */
export const PREBUILT_SEND_MAIL_FILE = path.join(PREBUILT_SEND_MAIL_DIR, 'index.mjs');

/**
 * The prebuilt bundle as Lambda code, with `extraFile` (copied in as `extraName`) when given.
 * @param dir - the bundle's folder (tests give another).
 * @returns undefined when there is no prebuilt bundle (running from this repository's sources).
 */
export function prebuiltSendMailCode(extra?: { file: string; name: string }, dir = PREBUILT_SEND_MAIL_DIR): Code | undefined {
  if (!existsSync(path.join(dir, 'index.mjs'))) return undefined;
  if (extra === undefined) return Code.fromAsset(dir);
  return Code.fromAsset(dir, {
    // The CA is part of the asset: its hash is the output's, so a new CA means new code.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: the local copy below always succeeds (no Docker needed).
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/busybox:stable'),
      local: {
        tryBundle(outputDir: string): boolean {
          cpSync(dir, outputDir, { recursive: true });
          copyFileSync(extra.file, path.join(outputDir, extra.name));
          return true;
        },
      },
    },
  });
}
