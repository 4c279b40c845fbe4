import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The test files that need root or Debian packages, left out of `npm run test:unit` so that a
 * contributor without them (on a Mac, say) can still run every other suite. `npm test` runs them all.
 */
export const NEEDS_SYSTEM_PACKAGES = [
  // Postfix and Dovecot from Debian, started as root (test/support/postfix.ts): a suite that starts
  // them is named `*.postfix.test.ts` (test/support/postfix.test.ts tests the helper itself).
  '**/*postfix.test.ts',
  // Chromium from Debian (/usr/bin/chromium) for the web page in a real browser; the file's other
  // tests (npm start end to end, second start, state folder) go with it.
  'test/local/localRun.test.ts',
  // The local mail UI driven in Chromium (tabs, paging, the sandboxed HTML part, Redrive).
  'test/local/webUi.test.ts',
  // Not a system package but a minute of both cores: npm start as a process, a 25 MiB attachment
  // through the CLI, S3, the function and the SMTP server (issue 11's "done when"), the allow-list.
  'test/local/localRun.newcomer.test.ts',
  // Python 3 with the jsonschema package (pip), for the JSON Schema as a Python producer reads it.
  '**/*.python.test.ts',
];

/** `npm run test:unit`: the suites that need no root and no Debian packages. */
export default mergeConfig(
  base,
  defineConfig({
    test: { exclude: [...configDefaults.exclude, ...NEEDS_SYSTEM_PACKAGES] },
  }),
);
