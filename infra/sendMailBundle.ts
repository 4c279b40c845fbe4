/**
 * How the send-mail Lambda is bundled: one description shared by the `OutboundMail` construct
 * (which hands it to `NodejsFunction`, i.e. to esbuild at synth time) and by the bench that
 * measures the bundle, so both build the very same file.
 * @module
 */
import path from 'node:path';

/** The repository's root: where `package.json`, `package-lock.json` and `tsconfig.json` live. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

/** The Lambda entry point, which exports {@link SEND_MAIL_HANDLER}. */
export const SEND_MAIL_ENTRY = path.join(PROJECT_ROOT, 'functions', 'send-mail.ts');

/** Name of the handler export in {@link SEND_MAIL_ENTRY}. */
export const SEND_MAIL_HANDLER = 'handler';

/** The lock file NodejsFunction hashes and uses to find the project root. */
export const DEPS_LOCK_FILE = path.join(PROJECT_ROOT, 'package-lock.json');

/**
 * Code put at the top of the ESM bundle so that CommonJS dependencies bundled into it can still
 * call `require` for Node built-ins (esbuild keeps those calls as they are).
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __sendMailCreateRequire } from 'node:module';" + ' const require = __sendMailCreateRequire(import.meta.url);';

/**
 * The esbuild settings of the send-mail bundle: ESM for Node 24, minified but keeping class and
 * function names (errors are reported by name), with an external
 * source map without sources (stack traces map back to files and lines through
 * `NODE_OPTIONS=--enable-source-maps`), and every dependency bundled, the AWS SDK included
 * (the runtime's own copy of the SDK is not used, so the version is the one the tests ran).
 */
export const SEND_MAIL_BUNDLE = {
  /** esbuild target; matches the Lambda runtime `nodejs24.x`. */
  target: 'node24',
  format: 'esm',
  minify: true,
  /**
   * Keep class and function names through minifying: the DLQ attributes and the logs name
   * errors by `error.name` (`RecipientsRefusedError`, not `Cn`), and `new.target.name` sets it.
   */
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
  /** Prefer packages' ESM builds: smaller bundles and better tree shaking. */
  mainFields: ['module', 'main'] as readonly string[],
  banner: ESM_REQUIRE_BANNER,
  /** Nothing is left out of the bundle; the default would leave out `@aws-sdk/*`. */
  externalModules: [] as readonly string[],
  /** File name NodejsFunction gives an ESM bundle. */
  outputFile: 'index.mjs',
} as const;
