/**
 * The repository's own package (`outbound-mail`) as an install from git or from a path gets it:
 * `npm pack` runs `prepare` (tsc -p tsconfig.build.json, as an install from git does), the tarball
 * holds dist and the JSON Schema, not the tests, bench or infra, and from a fresh project every
 * `exports` entry and the `mail-queue` bin resolve. (An install from `git+file://` of this
 * repository was tried by hand: it builds the same way, and takes minutes because npm installs the
 * repository's devDependencies to run `prepare`; the tarball is what it then installs.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');

interface PackResult {
  filename: string;
  size: number;
  files: { path: string }[];
}

interface Manifest {
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
}

const manifest = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as Manifest;

describe('the root package, packed as an install from git builds it', () => {
  let project = '';
  let packed: PackResult;
  let files: string[];

  beforeAll(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'root-consumer-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
    [packed] = JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as [PackResult];
    files = packed.files.map((file) => file.path);
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'service', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${packed.filename}`], { cwd: project });
  }, 300_000);

  afterAll(async () => {
    if (project !== '') await rm(project, { recursive: true, force: true });
  });

  it('holds dist, the JSON Schema, README and package.json only: no sources, tests, bench or infra', () => {
    const outside = files.filter(
      (file) => !file.startsWith('dist/') && !['README.md', 'package.json', 'schema/mail-job.v1.schema.json'].includes(file),
    );
    expect(outside).toEqual([]);
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining(['dist/publish/index.js', 'dist/publish/cli.js', 'dist/message/index.js', 'schema/mail-job.v1.schema.json']),
    );
  });

  it('holds the file of every exports entry and of the mail-queue bin', () => {
    const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : [target.types, target.default]));
    for (const target of [...targets, ...Object.values(manifest.bin)]) expect(files).toContain(target.replace(/^\.\//, ''));
  });

  it('resolves outbound-mail/publish, outbound-mail/message and the JSON Schema from another project, and runs mail-queue', async () => {
    const script = `
      import { createMailQueue } from 'outbound-mail/publish';
      import { parseMailJob } from 'outbound-mail/message';
      import { createRequire } from 'node:module';
      const schema = createRequire(import.meta.url)('outbound-mail/mail-job.v1.schema.json');
      const job = parseMailJob({ v: 1, to: 'ann@example.com', subject: 's', text: 't' });
      console.log(JSON.stringify({ createMailQueue: typeof createMailQueue, kind: job.kind, schema: schema.$id }));`;
    await writeFile(path.join(project, 'check.mjs'), script);
    const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ createMailQueue: 'function', kind: 'composed', schema: 'urn:outbound-mail:mail-job:v1' });
    const help = await run(path.join(project, 'node_modules/.bin/mail-queue'), ['--help'], { cwd: project });
    expect(help.stdout).toMatch(/^Usage: mail-queue /);
  });
});
