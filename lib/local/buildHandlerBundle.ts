/**
 * The send-mail bundle of the local run: `functions/send-mail.ts` built by esbuild with the very
 * settings the `OutboundMail` construct gives `NodejsFunction` (infra/sendMailBundle.ts: ESM,
 * platform node, target node24, minified with names kept, every dependency inside), so the local run calls the
 * code that is deployed, not the TypeScript sources.
 * @module
 */
import path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT, SEND_MAIL_BUNDLE, SEND_MAIL_ENTRY, SEND_MAIL_HANDLER } from '../../infra/sendMailBundle.js';

/** A built bundle. */
export interface HandlerBundle {
  /** Absolute path of the ESM bundle (`index.mjs`). */
  file: string;
  /** Name of the handler export. */
  handler: string;
}

/**
 * Builds the bundle into `dir` (replacing what a previous run built there).
 * @throws the esbuild error when the entry point does not build
 * @example
 * const bundle = await buildHandlerBundle('.local/bundle');
 * const { handler } = await import(pathToFileURL(bundle.file).href);
 */
export async function buildHandlerBundle(dir: string): Promise<HandlerBundle> {
  const file = path.join(dir, SEND_MAIL_BUNDLE.outputFile);
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [SEND_MAIL_ENTRY],
    bundle: true,
    platform: 'node',
    target: SEND_MAIL_BUNDLE.target,
    format: SEND_MAIL_BUNDLE.format,
    minify: SEND_MAIL_BUNDLE.minify,
    keepNames: SEND_MAIL_BUNDLE.keepNames,
    sourcemap: SEND_MAIL_BUNDLE.sourceMap,
    sourcesContent: SEND_MAIL_BUNDLE.sourcesContent,
    mainFields: [...SEND_MAIL_BUNDLE.mainFields],
    banner: { js: SEND_MAIL_BUNDLE.banner },
    external: [...SEND_MAIL_BUNDLE.externalModules],
    outfile: file,
    logLevel: 'silent',
  });
  return { file, handler: SEND_MAIL_HANDLER };
}
