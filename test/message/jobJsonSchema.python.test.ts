/**
 * The JSON Schema of mail job v1 as a Python producer uses it: Python's `jsonschema`
 * (Draft202012Validator) gives every job of the corpus the verdict ajv gives it. Python's regular
 * expressions are not ECMA-262's (`$` also matches before a final newline there), so this is where
 * a pattern that only holds in JavaScript shows. Needs a `python3` with the `jsonschema` package
 * (`pip install jsonschema`, as the README's Python example does, or Debian's python3-jsonschema,
 * which `npm test` installs through scripts/jsonschema.sh when no python3 has it).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIL_JOB_SCHEMA_FILE } from '../../scripts/mailJobSchema.js';
import { hostileBodies } from './hostileBodies.js';
import { ACCEPTED_JOBS, base, REFUSED_JOBS } from './jobCorpus.js';

const run = promisify(execFile);
const schema = JSON.parse(await readFile(MAIL_JOB_SCHEMA_FILE, 'utf8')) as object;
const validate = new Ajv2020({ strict: true, strictRequired: false }).compile(schema);

/** Valid in Python's jsonschema: prints the names of the valid jobs, as JSON. */
const PYTHON = `
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
jobs = json.load(open(sys.argv[2]))
print(json.dumps([name for name, job in jobs if validator.is_valid(job)]))
`;

/** Jobs where a pattern anchored with `$` would pass a final newline in Python. */
const TRAILING_NEWLINES: [name: string, input: unknown][] = [
  ['subject ending in LF', { ...base, subject: 'Hello\n' }],
  ['id ending in LF', { ...base, id: 'order-1\n' }],
  ['header value ending in LF', { ...base, headers: { 'X-A': 'b\n' } }],
  ['header name ending in LF', { ...base, headers: { 'X-A\n': 'b' } }],
  ['address ending in LF', { ...base, to: 'ann@example.com\n' }],
  ['attachment content type ending in LF', { ...base, attachments: [{ filename: 'a', contentType: 'text/plain\n', content: '' }] }],
  ['attachment content ending in LF', { ...base, attachments: [{ filename: 'a', contentType: 'a/b', content: 'aGk=\n' }] }],
  ['attachment content id ending in LF', { ...base, attachments: [{ filename: 'a', contentType: 'a/b', content: '', contentId: 'a@b\n' }] }],
  ['attachment file name ending in LF', { ...base, attachments: [{ filename: 'a.txt\n', contentType: 'a/b', content: '' }] }],
];

/** Every corpus job that JSON can carry (JSON has no `undefined`; Python's json cannot nest 500,000 lists). */
function jsonJobs(): [string, unknown][] {
  const hostile = hostileBodies().flatMap((body): [string, unknown][] => {
    if (body.name.includes('levels deep')) return [];
    try {
      return [[body.name, JSON.parse(body.body) as unknown]];
    } catch {
      return [];
    }
  });
  const all: [string, unknown][] = [
    ...ACCEPTED_JOBS,
    ...REFUSED_JOBS.map(([name, input]): [string, unknown] => [name, input]),
    ...TRAILING_NEWLINES,
    ...hostile,
  ];
  return all.flatMap(([name, input]) => {
    const json = JSON.stringify(input) as string | undefined;
    return json === undefined ? [] : [[name, JSON.parse(json) as unknown]];
  });
}

/** The first Python 3 that imports jsonschema: the one on PATH, else Debian's. */
async function pythonWithJsonSchema(): Promise<string> {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      await run(python, ['-c', 'import jsonschema']);
      return python;
    } catch {
      // not this one
    }
  }
  throw new Error('no python3 imports jsonschema: run `bash scripts/jsonschema.sh install`');
}

describe('the JSON Schema of mail job v1 in Python (jsonschema, Draft 2020-12)', () => {
  let work = '';
  afterAll(async () => {
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  it('gives every job of the corpus the verdict ajv gives it', async () => {
    work = await mkdtemp(path.join(tmpdir(), 'schema-python-'));
    const jobs = jsonJobs();
    await writeFile(path.join(work, 'jobs.json'), JSON.stringify(jobs));
    const python = await pythonWithJsonSchema();
    const { stdout } = await run(python, ['-c', PYTHON, MAIL_JOB_SCHEMA_FILE, path.join(work, 'jobs.json')], { maxBuffer: 16 * 1024 * 1024 });
    const validInPython = JSON.parse(stdout) as string[];
    const validInAjv = jobs.filter(([, job]) => validate(job)).map(([name]) => name);
    expect(validInPython.sort()).toEqual(validInAjv.sort());
    expect(jobs.length).toBeGreaterThan(150);
  }, 120_000);

  it('refuses text ending in a newline where the pattern refuses a newline', () => {
    expect(TRAILING_NEWLINES.filter(([, job]) => validate(job)).map(([name]) => name)).toEqual([]);
  });
});
