/**
 * `npm run synth` as CI and a deployer run it: the CDK CLI (aws-cdk@2) synthesises every
 * environment offline, bundling the send-mail Lambda for real with the local esbuild. Checks the
 * cloud assembly, that its templates are the ones the other tests assert and snapshot, and that
 * the bundle is the ESM, minified, source-mapped, SDK-included file the Lambda runtime loads.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSendMailBundle } from '../../bench/lambdaBundle.js';
import { PROJECT_ROOT } from '../../infra/sendMailBundle.js';
import { cdkEnvironmentNames, withStableAssetHashes } from '../support/cdkApp.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of the spawned commands: Node 24 from node_modules first, no AWS endpoints or credentials. */
function commandEnvironment(): NodeJS.ProcessEnv {
  const credentials = new Set(['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !credentials.has(name))),
    PATH: `${path.join(PROJECT_ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env['PATH'] ?? ''}`,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = commandEnvironment()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A CLI template without what only the CLI adds (path and asset metadata, the CDKMetadata resource). */
function withoutCliMetadata(template: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(template) as {
    Resources: Record<string, Record<string, unknown>>;
    Conditions?: Record<string, unknown>;
  };
  delete copy.Resources['CDKMetadata'];
  for (const resource of Object.values(copy.Resources)) delete resource['Metadata'];
  if (copy.Conditions !== undefined) {
    delete copy.Conditions['CDKMetadataAvailable'];
    if (Object.keys(copy.Conditions).length === 0) delete copy.Conditions;
  }
  return copy;
}

interface Assembly {
  outdir: string;
  run: Run;
}

const temporary: string[] = [];

async function synth(...args: string[]): Promise<Assembly> {
  const outdir = await mkdtemp(path.join(os.tmpdir(), 'outbound-mail-synth-'));
  temporary.push(outdir);
  return { outdir, run: await run('npm', ['run', '--silent', 'synth', '--', '--output', outdir, ...args]) };
}

afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('npm run synth (every environment)', () => {
  let assembly: Assembly;
  let bundleDir: string;

  beforeAll(async () => {
    assembly = await synth();
    const assets = (await readdir(assembly.outdir)).filter((name) => name.startsWith('asset.'));
    bundleDir = path.join(assembly.outdir, assets[0] ?? 'no-asset');
  }, 180_000);

  it('succeeds offline and writes one stack per environment, bundling the function once', async () => {
    expect(assembly.run.code, assembly.run.stderr).toBe(0);
    expect(assembly.run.stderr).toContain('index.mjs');
    const manifest = JSON.parse(await readFile(path.join(assembly.outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; environment?: string }>;
    };
    const stacks = Object.entries(manifest.artifacts).filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack');
    expect(stacks.map(([name]) => name)).toEqual(cdkEnvironmentNames().map((name) => `OutboundMail-${name}`));
    expect(stacks.map(([, artifact]) => artifact.environment)).toEqual([
      'aws://111111111111/eu-west-1',
      'aws://222222222222/eu-west-1',
      'aws://333333333333/eu-central-1',
    ]);
    const assets = (await readdir(assembly.outdir)).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
  });

  it.each(cdkEnvironmentNames())('deploys for %s exactly the template the snapshot holds', async (name) => {
    const stackName = `OutboundMail-${name}`;
    const template = JSON.parse(await readFile(path.join(assembly.outdir, `${stackName}.template.json`), 'utf8')) as Record<string, unknown>;
    const snapshot = JSON.parse(
      await readFile(path.join(PROJECT_ROOT, 'test', 'infra', '__snapshots__', `${stackName}.template.json`), 'utf8'),
    ) as unknown;
    expect(withStableAssetHashes(withoutCliMetadata(template))).toEqual(snapshot);
    const code = JSON.stringify(template).match(/"S3Key":"([a-f0-9]{64})\.zip"/);
    expect(path.basename(bundleDir)).toBe(`asset.${code?.[1]}`);
  });

  it('bundles an ESM, minified file for Node 24 with an external source map without sources', async () => {
    expect((await readdir(bundleDir)).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const bundle = await readFile(path.join(bundleDir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith("import { createRequire as __sendMailCreateRequire } from 'node:module';")).toBe(true);
    expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\n?$/);
    // Minified: a few very long lines instead of one statement per line (the count of lines itself
    // grows with the template literals of bundled dependencies: 100 once the SSM client came in).
    expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(2000);
    const map = JSON.parse(await readFile(path.join(bundleDir, 'index.mjs.map'), 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
    expect(map.sources.some((source) => source.endsWith('/functions/send-mail.ts'))).toBe(true);
  });

  it('bundles the AWS SDK and the other dependencies, and loads in a fresh Node 24 needing only built-ins', async () => {
    const map = JSON.parse(await readFile(path.join(bundleDir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.some((source) => source.includes('node_modules/@aws-sdk/client-sqs/'))).toBe(true);
    expect(map.sources.some((source) => source.includes('node_modules/@aws-sdk/client-secrets-manager/'))).toBe(true);
    expect(map.sources.some((source) => source.includes('node_modules/@middy/core/'))).toBe(true);

    // Load it as the Lambda runtime would (ESM import, source maps on), recording every module
    // the bundle asks Node to resolve, through import or through the banner's require.
    const bundle = pathToFileURL(path.join(bundleDir, 'index.mjs')).href;
    const script = `
      import { isBuiltin, registerHooks } from 'node:module';
      const resolved = [];
      registerHooks({ resolve(specifier, context, next) { resolved.push(specifier); return next(specifier, context); } });
      const loaded = await import(${JSON.stringify(bundle)});
      console.log(JSON.stringify({
        node: process.versions.node.split('.')[0],
        handler: typeof loaded.handler,
        notBuiltin: resolved.filter((specifier) => specifier !== ${JSON.stringify(bundle)} && !isBuiltin(specifier)),
        builtins: resolved.filter((specifier) => isBuiltin(specifier)).length,
      }));`;
    const env = {
      ...commandEnvironment(),
      NODE_OPTIONS: '--enable-source-maps',
      SMTP_URL: 'smtp://user:secret@127.0.0.1:2525',
      MAIL_PER_CONNECTION: '10',
      QUEUE_URL: 'http://127.0.0.1:9/000000000000/mail',
      DLQ_URL: 'http://127.0.0.1:9/000000000000/mail-dlq',
      AWS_REGION: 'eu-west-1',
    };
    const loaded = await run(process.execPath, ['--input-type=module', '-e', script], env);
    expect(loaded.stderr).toBe('');
    const report = JSON.parse(loaded.stdout) as { node: string; handler: string; notBuiltin: string[]; builtins: number };
    expect(report).toMatchObject({ node: '24', handler: 'function', notBuiltin: [] });
    expect(report.builtins).toBeGreaterThan(0);
  });

  it('is byte for byte the bundle the bench measures (bench/lambdaBundle.ts)', async () => {
    const benchBundle = await buildSendMailBundle();
    temporary.push(benchBundle.dir);
    expect((await readFile(benchBundle.file)).equals(await readFile(path.join(bundleDir, 'index.mjs')))).toBe(true);
  });

  it('needs no context lookups (no AWS account at synth)', async () => {
    const manifest = JSON.parse(await readFile(path.join(assembly.outdir, 'manifest.json'), 'utf8')) as { missing?: unknown[] };
    expect(manifest.missing).toBeUndefined();
  });
});

describe('npm run synth -- -c env=NAME', () => {
  it('synthesises only the named environment', async () => {
    const { outdir, run: result } = await synth('-c', 'env=prod');
    expect(result.code, result.stderr).toBe(0);
    const templates = (await readdir(outdir)).filter((name) => name.endsWith('.template.json'));
    expect(templates).toEqual(['OutboundMail-prod.template.json']);
  }, 180_000);

  it('fails on an unknown environment, naming it and the known ones', async () => {
    const { outdir, run: result } = await synth('-c', 'env=nope');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Unknown environment "nope" (-c env=nope): cdk.json defines "dev", "staging", "prod"');
    expect((await readdir(outdir)).filter((name) => name.endsWith('.template.json'))).toEqual([]);
  }, 180_000);
});
