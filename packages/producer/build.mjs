// Builds the producer package into dist/: the producer entry of lib/publish and the lib/message
// modules it imports (tsc follows the imports from lib/publish/index.ts, nothing else), and the
// JSON Schema of mail job v1 from schema/. Run by `prepare` and `prepack`; dist/ starts empty each
// time so that a file left by an older build is never packed. `npm pack` and `npm publish` run
// `prepack` and then `prepare`: the second is skipped there, so the package is built once.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const { npm_lifecycle_event: event, npm_command: command } = process.env;
if (event === 'prepare' && (command === 'pack' || command === 'publish')) process.exit(0);

const here = `${import.meta.dirname}/`;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(`${here}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${here}tsconfig.json`], { stdio: 'inherit' });
copyFileSync(`${here}../../schema/mail-job.v1.schema.json`, `${here}dist/mail-job.v1.schema.json`);
