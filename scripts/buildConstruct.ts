/**
 * Builds the CDK construct for other apps (`npm run build`): the construct's modules compiled
 * into `dist/cdk` (tsconfig.construct.json) and the send-mail function bundled into
 * `dist/cdk/send-mail/index.mjs` with the very esbuild settings the repository's own synth uses
 * (`SEND_MAIL_BUNDLE`), so an installed construct deploys it as it is (infra/sendMailCode.ts).
 * @module
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT, SEND_MAIL_BUNDLE, SEND_MAIL_ENTRY } from '../infra/sendMailBundle.js';

const outdir = path.join(PROJECT_ROOT, 'dist', 'cdk', 'send-mail');
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [SEND_MAIL_ENTRY],
  outfile: path.join(outdir, SEND_MAIL_BUNDLE.outputFile),
  bundle: true,
  platform: 'node',
  format: SEND_MAIL_BUNDLE.format,
  target: SEND_MAIL_BUNDLE.target,
  minify: SEND_MAIL_BUNDLE.minify,
  keepNames: SEND_MAIL_BUNDLE.keepNames,
  sourcemap: SEND_MAIL_BUNDLE.sourceMap,
  sourcesContent: SEND_MAIL_BUNDLE.sourcesContent,
  mainFields: [...SEND_MAIL_BUNDLE.mainFields],
  banner: { js: SEND_MAIL_BUNDLE.banner },
  external: [...SEND_MAIL_BUNDLE.externalModules],
  logLevel: 'warning',
});
