/**
 * The OutboundMail construct used from another CDK app (issue 10 s.3): the package built
 * (`npm run build:construct`) and packed (`npm pack`), unpacked into a fresh project in a
 * temporary folder, whose own tiny CDK app imports `outbound-mail/infra` and synthesises a stack
 * there, far from this repository. The function's asset must be the prebuilt bundle with its
 * handler, the relay's CA file beside it, and the template must name nothing of this repository.
 * The project's `aws-cdk-lib`, `constructs` and the package's dependencies are links to this
 * repository's node_modules (what `npm install` would fetch; the test stays offline).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundMail } from '../../infra/OutboundMail.js';
import { RelayCa } from '../../infra/relayCa.js';
import { prebuiltSendMailCode } from '../../infra/sendMailCode.js';
import { createSendMailFunction } from '../../infra/sendMailFunction.js';
import { testApp } from '../support/cdkApp.js';
import { testCertificates } from '../support/certificates.js';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');

let work: string;
let project: string;
let packedFiles: string[];
let caPem: string;

interface TemplateJson {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

/** Links `name` in the project's node_modules to this repository's copy. */
async function linkDependency(name: string): Promise<void> {
  const target = path.join(project, 'node_modules', name);
  await mkdir(path.dirname(target), { recursive: true });
  await symlink(path.join(REPO, 'node_modules', name), target, 'dir');
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'construct-package-'));
  project = path.join(work, 'orders-mail');
  await mkdir(path.join(project, 'node_modules', 'outbound-mail'), { recursive: true });
  // Build and pack as `npm pack` from git would (prepare builds the construct and the bundle).
  await run('npm', ['run', '--silent', 'build:construct'], { cwd: REPO });
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = packed!.files.map((file) => file.path);
  await run('tar', ['-xzf', path.join(work, packed!.filename), '-C', path.join(project, 'node_modules', 'outbound-mail'), '--strip-components=1']);
  const manifest = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of ['aws-cdk-lib', 'constructs', ...Object.keys(manifest.dependencies)]) await linkDependency(name);

  caPem = (await testCertificates()).ca;
  await writeFile(path.join(project, 'relay-ca.pem'), caPem);
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'orders-mail', private: true, type: 'module' }));
  await writeFile(
    path.join(project, 'app.mjs'),
    [
      "import { App, Stack } from 'aws-cdk-lib';",
      "import { Secret } from 'aws-cdk-lib/aws-secretsmanager';",
      "import { OutboundMail, RelayCa } from 'outbound-mail/infra';",
      "const app = new App({ outdir: 'cdk.out' });",
      "const stack = new Stack(app, 'OrdersMail', { env: { account: '444455556666', region: 'eu-west-1' } });",
      "const smtpSecret = Secret.fromSecretCompleteArn(stack, 'Relay', 'arn:aws:secretsmanager:eu-west-1:444455556666:secret:orders/relay-Ab12Cd');",
      "new OutboundMail(stack, 'Mail', { smtpSecret, environmentName: 'orders', relayCa: RelayCa.fromFile('relay-ca.pem'), allowedRecipients: ['example.com'] });",
      'app.synth();',
    ].join('\n'),
  );
}, 600_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the construct from the installed package, in another CDK app', () => {
  it('is in the package: the compiled construct, its types and the prebuilt bundle, no TypeScript sources or tests', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'dist/cdk/infra/index.js',
        'dist/cdk/infra/index.d.ts',
        'dist/cdk/infra/OutboundMail.js',
        'dist/cdk/send-mail/index.mjs',
        'dist/cdk/send-mail/index.mjs.map',
      ]),
    );
    expect(packedFiles.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(packedFiles.filter((file) => file.startsWith('test/') || file.startsWith('infra/') || file.startsWith('functions/'))).toEqual([]);
  });

  it("synthesises there: the asset is the prebuilt bundle with its handler and the CA, and the template names nothing of this repository's", async () => {
    // Act: the other app's synth, in its own folder, on this Node (24), offline.
    await run(process.execPath, ['app.mjs'], { cwd: project, env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } });
    // Assess: the function and its code.
    const out = path.join(project, 'cdk.out');
    const templateText = await readFile(path.join(out, 'OrdersMail.template.json'), 'utf8');
    const template = JSON.parse(templateText) as TemplateJson;
    const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(1);
    const fn = functions[0]!.Properties;
    expect(fn).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    expect((fn['Environment'] as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      SMTP_CA_FILE: '/var/task/smtp-relay-ca.pem',
      MAIL_ALLOWED_RECIPIENTS: 'example.com',
      MAIL_ENVIRONMENT: 'orders',
    });
    const key = (fn['Code'] as { S3Key: string }).S3Key;
    const assetDir = path.join(out, `asset.${key.replace(/\.zip$/, '')}`);
    expect((await readdir(assetDir)).sort()).toEqual(['index.mjs', 'index.mjs.map', 'smtp-relay-ca.pem']);
    const shipped = await readFile(path.join(project, 'node_modules/outbound-mail/dist/cdk/send-mail/index.mjs'));
    expect((await readFile(path.join(assetDir, 'index.mjs'))).equals(shipped)).toBe(true);
    expect(await readFile(path.join(assetDir, 'smtp-relay-ca.pem'), 'utf8')).toBe(caPem);
    expect(templateText).not.toContain(REPO);
    // The handler is there: the bundle loads with the function's settings and exports it.
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', 'const m = await import(process.argv[1]); console.log(typeof m.handler);', path.join(assetDir, 'index.mjs')],
      {
        cwd: work,
        env: {
          PATH: process.env['PATH'] ?? '',
          SMTP_URL: 'smtp://u:p@relay.example.com:587',
          QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/444455556666/mail',
          DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/444455556666/mail-dlq',
          SMTP_CA_FILE: path.join(assetDir, 'smtp-relay-ca.pem'),
          MAIL_ALLOWED_RECIPIENTS: 'example.com',
          AWS_REGION: 'eu-west-1',
        },
      },
    );
    expect(stdout.trim()).toBe('function');
  }, 300_000);

  it("from this repository's sources (NodejsFunction bundling at synth), the CA file lands beside the bundle too", async () => {
    const app = testApp({}, { bundle: true });
    const stack = new Stack(app, 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const smtpSecret = Secret.fromSecretCompleteArn(stack, 'Relay', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-Xy12Zq');
    const mail = new OutboundMail(stack, 'Mail', { smtpSecret, relayCa: RelayCa.fromFile(path.join(project, 'relay-ca.pem')) });
    expect(mail.sendMailFunction).toBeInstanceOf(NodejsFunction);
    const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0] as { Properties: { Code: { S3Key: string } } };
    const assetDir = path.join(app.outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    expect((await readdir(assetDir)).sort()).toEqual(['index.mjs', 'index.mjs.map', 'smtp-relay-ca.pem']);
    expect(await readFile(path.join(assetDir, 'smtp-relay-ca.pem'), 'utf8')).toBe(caPem);
  }, 300_000);

  it('in-process: a prebuilt bundle next to the module becomes the code as it is, or copied with the CA (output hash), handler index.handler', async () => {
    const prebuilt = path.join(work, 'prebuilt');
    await mkdir(prebuilt, { recursive: true });
    await writeFile(path.join(prebuilt, 'index.mjs'), 'export const handler = async () => ({ batchItemFailures: [] });\n');
    const app = testApp({}, { bundle: true });
    const stack = new Stack(app, 'Prebuilt', { env: { account: '123456789012', region: 'eu-west-1' } });
    const plain = createSendMailFunction(stack, 'Plain', {}, undefined, prebuilt);
    const withCa = createSendMailFunction(stack, 'WithCa', {}, { file: path.join(project, 'relay-ca.pem'), name: 'smtp-relay-ca.pem' }, prebuilt);
    expect(plain).not.toBeInstanceOf(NodejsFunction);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Runtime: 'nodejs24.x' });
    const keys = [plain, withCa].map((fn) => {
      const id = stack.getLogicalId(fn.node.defaultChild as CfnFunction);
      return (template.toJSON() as TemplateJson).Resources[id]!.Properties['Code'] as { S3Key: string };
    });
    const dirs = keys.map((code) => path.join(app.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`));
    expect(await readdir(dirs[0]!)).toEqual(['index.mjs']);
    expect((await readdir(dirs[1]!)).sort()).toEqual(['index.mjs', 'smtp-relay-ca.pem']);
    expect(prebuiltSendMailCode(undefined, path.join(work, 'nothing-here'))).toBeUndefined();
  }, 120_000);
});
