/**
 * The worst queue message bodies of at most 1 MiB we could think of for the job parser: lists and
 * objects of hundreds of thousands of items, deep nesting, huge strings, many problems per item.
 * Shared by the regression tests (`test/message/hostileJobs.test.ts`) and the benchmark
 * (`bench/hostileJobs.ts`), so that both look at the same bodies.
 * @module
 */

/** The SQS limit on a message body, in bytes. */
export const MAX_BODY_BYTES = 1_048_576;

/** One hostile body: a name for tables and test titles, and the JSON text as SQS would deliver it. */
export interface HostileBody {
  name: string;
  body: string;
  /** The body is a valid job, only a large one. */
  valid?: true;
}

const HEAD = '{"v":1,"to":"ann@example.com","subject":"s","text":"t"';

/** `head` + `open` + as many `item`s (comma-separated) as fit in 1 MiB + `close`. */
function fill(head: string, open: string, item: (index: number) => string, close: string): string {
  const parts: string[] = [head, open];
  let bytes = Buffer.byteLength(head + open + close);
  for (let index = 0; ; index += 1) {
    const next = (index === 0 ? '' : ',') + item(index);
    const size = Buffer.byteLength(next);
    if (bytes + size > MAX_BODY_BYTES) break;
    parts.push(next);
    bytes += size;
  }
  parts.push(close);
  return parts.join('');
}

/** A string of `length` characters, so that the whole body is close to 1 MiB. */
const filler = (length: number): string => 'x'.repeat(length);

/** A composed job that is valid and ordinary: the row the hostile ones are compared with. */
export const NORMAL_BODY: HostileBody = {
  name: 'normal job (3 recipients, 2 headers, 1 attachment of 2 KB)',
  body: JSON.stringify({
    v: 1,
    id: 'order-42',
    from: 'Shop <shop@example.com>',
    to: ['ann@example.com', { name: 'Bo', address: 'bo@example.com' }],
    cc: 'Cy <cy@example.com>',
    subject: 'Your order',
    text: 'Thank you for your order.',
    html: '<p>Thank you for your order.</p>',
    headers: { 'X-Campaign': 'spring', 'List-Unsubscribe': '<mailto:u@example.com>' },
    attachments: [{ filename: 'invoice.pdf', contentType: 'application/pdf', content: Buffer.alloc(2048, 7).toString('base64') }],
  }),
};

/** Every hostile body, each at most {@link MAX_BODY_BYTES} bytes. */
export function hostileBodies(): HostileBody[] {
  const deep = 500_000;
  return [
    { name: 'attachments: [{}, {}, …]', body: fill(HEAD, ',"attachments":[', () => '{}', ']}') },
    {
      name: 'attachments: 5 wrong fields each',
      body: fill(HEAD, ',"attachments":[', () => '{"filename":1,"contentType":1,"content":1,"contentId":1,"x":1}', ']}'),
    },
    { name: 'to: ["x", "x", …]', body: fill('{"v":1,"subject":"s","text":"t"', ',"to":[', () => '"x"', ']}') },
    { name: 'to: [{}, {}, …]', body: fill('{"v":1,"subject":"s","text":"t"', ',"to":[', () => '{}', ']}') },
    { name: 'to: [[], [], …]', body: fill('{"v":1,"subject":"s","text":"t"', ',"to":[', () => '[]', ']}') },
    { name: 'cc and bcc: ["x", …] each', body: fill(`${HEAD},"cc":${JSON.stringify(Array(150_000).fill('x'))}`, ',"bcc":[', () => '"x"', ']}') },
    { name: 'an address object with 100k fields', body: fill('{"v":1,"subject":"s","text":"t"', ',"to":{', (i) => `"k${i}":0`, '}}') },
    { name: 'headers: 100k fields', body: fill(HEAD, ',"headers":{', (i) => `"X-${i}":""`, '}}') },
    {
      name: 'headers: 50 fields named by addresses, 20 KB values with CR',
      body: `${HEAD},"headers":{${Array.from({ length: 50 }, (_, i) => `"bob${i}@example.com":"${'a\\r'.repeat(6_500)}"`).join(',')}}}`,
    },
    { name: 'top level: 100k unknown fields', body: fill(HEAD, ',', (i) => `"k${i}":0`, '}') },
    { name: 'tags: {…} with 100k fields', body: fill(HEAD, ',"tags":{', (i) => `"t${i}":"v"`, '}}') },
    { name: '__proto__ in every item', body: fill(HEAD, ',"attachments":[', () => '{"__proto__":0}', ']}') },
    { name: `[[[…]]] ${deep} levels deep`, body: `${HEAD},"x":${'['.repeat(deep)}${']'.repeat(deep)}}` },
    { name: 'many lists below the depth limit', body: fill(`${HEAD},"x":{"a":{"b":{"c":{"d":{"e":{"f":{"g":`, '[', () => '[[]]', ']}}}}}}}}') },
    { name: 'subject of 1 MiB', body: `{"v":1,"to":"ann@example.com","text":"t","subject":"${filler(1_048_000)}"}` },
    { name: 'to: one address of 1 MiB', body: `{"v":1,"subject":"s","text":"t","to":"${filler(1_048_000)}@example.com"}` },
    {
      name: 'to: 100 addresses of 10 KB',
      body: `{"v":1,"subject":"s","text":"t","to":[${Array.from({ length: 100 }, () => `"${filler(10_400)}@example.com"`).join(',')}]}`,
    },
    { name: 'text of 1 MiB, a NUL at its end', body: `{"v":1,"to":"ann@example.com","subject":"s","text":"${filler(1_048_000)}\\u0000"}` },
    {
      name: 'attachment of 1 MiB, not base64 at its end',
      body: `{"v":1,"to":"ann@example.com","subject":"s","attachments":[{"filename":"a","contentType":"a/b","content":"${'QUFB'.repeat(261_980)}QU!="}]}`,
    },
    { name: 'a header name of 1 MiB', body: `${HEAD},"headers":{"X-${filler(1_047_900)}":"v"}}` },
    { name: 'an unknown field name of 1 MiB', body: `${HEAD},"${filler(1_047_990)}":0}` },
    { name: 'contentType of 1 MiB', body: `${HEAD},"attachments":[{"filename":"a","content":"","contentType":"a/${'a;'.repeat(523_900)}"}]}` },
    {
      name: 'raw: 500k malformed header lines',
      body: `{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"]},"message":"${'x\\n'.repeat(349_000)}"}}`,
    },
    {
      name: 'raw: 1M empty lines',
      body: `{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"]},"message":"From: a@example.com${'\\n'.repeat(524_000)}"}}`,
      valid: true,
    },
    {
      name: 'raw: 262k header fields',
      body: `{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"]},"message":"From: a@example.com\\n${'a:\\n'.repeat(262_000)}\\nbody"}}`,
      valid: true,
    },
    {
      name: 'raw: 209k To fields',
      body: `{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"]},"message":"From: a@example.com\\n${'To:\\n'.repeat(209_000)}\\nbody"}}`,
    },
    {
      name: 'raw: 262k short lines (LF)',
      body: `{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"]},"message":"From: a@example.com\\n\\n${'ab\\n'.repeat(262_000)}"}}`,
      valid: true,
    },
    {
      name: 'raw: 3130 lines of 332 characters',
      body: `{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"]},"message":"From: a@example.com\\n\\n${`${filler(332)}\\n`.repeat(3_130)}"}}`,
      valid: true,
    },
    {
      name: 'raw envelope: to: ["x", …]',
      body: fill('{"v":1,"raw":{"message":"From: a@example.com\\r\\n\\r\\nx","envelope":{"from":"a@example.com"', ',"to":[', () => '"x"', ']}}}'),
    },
    { name: 'not JSON: 1 MiB of "["', body: '['.repeat(MAX_BODY_BYTES) },
  ];
}
