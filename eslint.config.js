// @ts-check
// Lint: ESLint's recommended rules and typescript-eslint's strict type-checked set (issue 13,
// "Habits that catch this class of bug"). A rule is turned off or tuned only with its reason beside it.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['node_modules/', 'cdk.out/', '**/dist/', 'coverage/', '.local/', '.scratch/']),
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The three this issue names, on as errors whatever the preset says.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Numbers in messages (`${count} jobs`, `port ${port}`) print as expected; objects, undefined and null still fail.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `() => settle(error)` as a callback is our idiom; a void value used anywhere else still fails.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Refusing control characters (CR, LF, NUL, TAB in SMTP arguments and headers) is what these patterns are for.
      'no-control-regex': 'off',
      // `const { secret: _secret, ...rest } = env` is how a field is left out; `_` marks it unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests index into results whose length they have just asserted; a wrong index fails the test anyway.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // vitest's asymmetric matchers (expect.stringContaining, expect.any) are typed any and sit inside the
      // objects tests compare; no-unsafe-return/-member-access/-call still catch an any that is used.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // Plain JavaScript (this file, scripts/*.mjs) is outside tsconfig.json: no type information.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
