/**
 * Jobs that parseMailJob accepts and jobs it refuses (with the path and message it refuses them
 * with), shared by its own tests (parseMailJob.test.ts) and by the test that holds the JSON Schema
 * of the format to the same verdicts (jobJsonSchema.test.ts).
 * @module
 */

/** The smallest composed job; cases spread it and change one field. */
export const base = { v: 1, to: 'ann@example.com', subject: 'Hello', text: 'Hi Ann' } as const;
/** Base64 of a string. */
export const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Composed jobs parseMailJob accepts: a name, the job. */
export const ACCEPTED_JOBS: [name: string, input: unknown][] = [
  ['html only', { v: 1, to: 'a@example.com', subject: 's', html: '<b>x</b>' }],
  [
    'attachments only',
    { v: 1, to: 'a@example.com', subject: 's', attachments: [{ filename: 'x.bin', contentType: 'application/octet-stream', content: '' }] },
  ],
  ['empty subject', { ...base, subject: '' }],
  ['subject with non-ASCII', { ...base, subject: 'Grüße 👋' }],
  [
    '100 recipients',
    { ...base, to: Array.from({ length: 50 }, (_, i) => `to${i}@example.com`), bcc: Array.from({ length: 50 }, (_, i) => `b${i}@example.com`) },
  ],
  ['body with CRLF, tabs and form feed', { ...base, text: 'a\r\n\tb\fc' }],
  ['header value with tab and non-ASCII', { ...base, headers: { 'X-Note': 'für\tdich' } }],
  ['In-Reply-To and References headers', { ...base, headers: { 'In-Reply-To': '<a@example.com>', References: '<a@example.com> <b@example.com>' } }],
  ['id of 200 visible characters', { ...base, id: 'x'.repeat(200) }],
  ['non-ASCII file name', { ...base, attachments: [{ filename: 'Bericht März.pdf', contentType: 'application/pdf', content: b64('%PDF') }] }],
  [
    'content type with a quoted parameter',
    { ...base, attachments: [{ filename: 'a.txt', contentType: 'text/plain; charset="utf-8"; format=flowed', content: b64('x') }] },
  ],
  [
    'a forwarded message attached',
    { ...base, attachments: [{ filename: 'fwd.eml', contentType: 'message/rfc822', content: b64('From: a@example.com\r\n\r\nx') }] },
  ],
  // additions to v1 (issue 10): tags, delaySeconds, envelopeFrom, listUnsubscribe
  [
    'ten tags, values with spaces, an empty value',
    { ...base, tags: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k.${i}:x-_`, `value ${i} ~!`]).concat([['empty', '']])) },
  ],
  ['a tag key of 64 characters and a value of 256', { ...base, tags: { ['k'.repeat(64)]: 'v'.repeat(256) } }],
  ['delaySeconds 0', { ...base, delaySeconds: 0 }],
  ['delaySeconds 900', { ...base, delaySeconds: 900 }],
  ['envelopeFrom a bare address', { ...base, from: 'Shop <shop@example.com>', envelopeFrom: 'bounces+ann=example.com@bounce.example.com' }],
  ['listUnsubscribe url only', { ...base, listUnsubscribe: { url: 'https://example.com/unsubscribe?u=1&l=2#x' } }],
  ['listUnsubscribe mailto as an address', { ...base, listUnsubscribe: { mailto: 'unsubscribe@example.com' } }],
  [
    'listUnsubscribe url and mailto with a subject',
    { ...base, listUnsubscribe: { url: 'https://example.com:8443/u/Zm9v', mailto: 'mailto:u+1@lists.example.com?subject=unsubscribe' } },
  ],
  [
    'listUnsubscribe with other List- headers',
    { ...base, listUnsubscribe: { url: 'https://example.com/u' }, headers: { 'List-Id': '<news.example.com>' } },
  ],
  ['List-Unsubscribe in headers without listUnsubscribe (as before)', { ...base, headers: { 'List-Unsubscribe': '<https://example.com/u>' } }],
];

/** Raw jobs with the fields of issue 10 that a raw job takes (tags, delaySeconds). */
export const ACCEPTED_RAW_JOBS: [name: string, input: unknown][] = [
  [
    'raw job with tags and delaySeconds',
    {
      v: 1,
      tags: { tenant: 'acme' },
      delaySeconds: 60,
      raw: { envelope: { from: '', to: ['b@example.com'] }, message: 'From: a@example.com\r\n\r\nx' },
    },
  ],
];

const long = (n: number) => 'x'.repeat(n);
const att = (over: Record<string, unknown>) => ({
  ...base,
  attachments: [{ filename: 'a.txt', contentType: 'text/plain', content: b64('x'), ...over }],
});
const raw = (message: unknown, envelope: unknown = { from: 'a@example.com', to: ['b@example.com'] }) => ({ v: 1, raw: { envelope, message } });
export const REFUSED_JOBS: [name: string, input: unknown, path: string, message: RegExp][] = [
  // wrong top-level types
  ['null', null, '', /JSON object, not null/],
  ['a string', '{"v":1}', '', /not a string/],
  ['a number', 1, '', /not a number/],
  ['a list', [base], '', /not a list/],
  ['undefined', undefined, '', /not missing/],
  ['empty object', {}, 'v', /is required/],
  // version
  ['v missing', { ...base, v: undefined }, 'v', /is required/],
  ['v as string', { ...base, v: '1' }, 'v', /must be 1/],
  ['v = 0', { ...base, v: 0 }, 'v', /must be 1/],
  ['v = 1.5', { ...base, v: 1.5 }, 'v', /must be 1/],
  // id
  ['id with space', { ...base, id: 'a b' }, 'id', /visible ASCII/],
  ['id with CRLF', { ...base, id: 'a\r\nb' }, 'id', /visible ASCII/],
  ['id non-ASCII', { ...base, id: 'bestellung-ä' }, 'id', /visible ASCII/],
  ['id empty', { ...base, id: '' }, 'id', /visible ASCII/],
  ['id too long', { ...base, id: long(201) }, 'id', /visible ASCII/],
  ['id number', { ...base, id: 42 }, 'id', /must be a string, not a number/],
  // recipients
  ['to missing', { ...base, to: undefined }, 'to', /is required/],
  ['to empty list', { ...base, to: [] }, 'to', /empty list/],
  ['to null', { ...base, to: null }, 'to', /not null/],
  ['to number', { ...base, to: 5 }, 'to', /not a number/],
  ['to comma list in one string', { ...base, to: 'a@example.com, b@example.com' }, 'to', /several addresses/],
  ['to nested list', { ...base, to: [['a@example.com']] }, 'to[0]', /not a list/],
  ['to with CRLF injection', { ...base, to: 'a@example.com\r\nBcc: x@evil.example' }, 'to', /control characters/],
  ['cc group syntax', { ...base, cc: 'team: a@example.com;' }, 'cc', /several addresses|colon/],
  ['bcc comment', { ...base, bcc: ['ok@example.com', 'x@example.com (hidden)'] }, 'bcc[1]', /parentheses/],
  ['replyTo quoted local part', { ...base, replyTo: '"x y"@example.com' }, 'replyTo', /quoted local part/],
  ['from as list', { ...base, from: ['a@example.com'] }, 'from', /not a list/],
  ['from with two addresses', { ...base, from: 'a@example.com, b@example.com' }, 'from', /several addresses/],
  [
    'from with angle brackets in the name',
    { ...base, from: { name: 'PayPal <service@paypal.com>', address: 'x@evil.example' } },
    'from',
    /angle brackets/,
  ],
  ['101 recipients in to', { ...base, to: Array.from({ length: 101 }, (_, i) => `r${i}@example.com`) }, 'to', /at most 100/],
  [
    '101 recipients across to, cc and bcc',
    {
      ...base,
      to: Array.from({ length: 40 }, (_, i) => `a${i}@example.com`),
      cc: Array.from({ length: 40 }, (_, i) => `c${i}@example.com`),
      bcc: Array.from({ length: 21 }, (_, i) => `b${i}@example.com`),
    },
    '',
    /101 recipients/,
  ],
  // subject and bodies
  ['subject missing', { ...base, subject: undefined }, 'subject', /is required/],
  ['subject number', { ...base, subject: 1 }, 'subject', /not a number/],
  ['subject with CRLF header injection', { ...base, subject: 'hi\r\nBcc: x@evil.example' }, 'subject', /control characters/],
  ['subject with bare LF', { ...base, subject: 'hi\nthere' }, 'subject', /control characters/],
  ['subject with NUL', { ...base, subject: 'hi\u0000' }, 'subject', /control characters/],
  ['subject with ESC', { ...base, subject: '\u001b[31mred' }, 'subject', /control characters/],
  ['subject with RTL override', { ...base, subject: 'invoice\u202Efdp.exe' }, 'subject', /text-direction/],
  ['subject with lone surrogate', { ...base, subject: 'hi \ud83d' }, 'subject', /lone surrogate/],
  ['subject too long', { ...base, subject: long(999) }, 'subject', /longer than 998/],
  ['no body at all', { v: 1, to: 'a@example.com', subject: 's' }, '', /no content/],
  ['text as number', { ...base, text: 5 }, 'text', /not a number/],
  ['text with NUL', { ...base, text: 'a\u0000b' }, 'text', /NUL/],
  ['text with lone surrogate', { ...base, text: '\udfff' }, 'text', /lone surrogate/],
  ['html as object', { ...base, html: { content: '<b>' } }, 'html', /not an object/],
  ['html too long', { ...base, html: long(1_048_577) }, 'html', /longer than 1048576/],
  // headers
  ['headers as list', { ...base, headers: [['X-A', 'b']] }, 'headers', /not a list/],
  ['headers as string', { ...base, headers: 'X-A: b' }, 'headers', /not a string/],
  ['header value number', { ...base, headers: { 'X-A': 1 } }, 'headers[0]', /must be a string, not a number/],
  ['header value CRLF injection', { ...base, headers: { 'X-A': 'a\r\nBcc: x@evil.example' } }, 'headers[0]', /control characters/],
  ['header value bare LF', { ...base, headers: { 'X-A': 'a\nb' } }, 'headers[0]', /control characters/],
  ['header value bare CR', { ...base, headers: { 'X-A': 'a\rb' } }, 'headers[0]', /control characters/],
  ['header value NUL', { ...base, headers: { 'X-A': 'a\u0000' } }, 'headers[0]', /control characters/],
  ['header value lone surrogate', { ...base, headers: { 'X-A': '\ud800' } }, 'headers[0]', /lone surrogate/],
  ['header name with colon', { ...base, headers: { 'X-A: b\r\nBcc': 'x' } }, 'headers[0]', /not a valid header name/],
  ['header name with space', { ...base, headers: { 'X A': 'x' } }, 'headers[0]', /not a valid header name/],
  ['header name empty', { ...base, headers: { '': 'x' } }, 'headers[0]', /cannot be empty/],
  ['header name non-ASCII', { ...base, headers: { 'X-Grüße': 'x' } }, 'headers[0]', /not a valid header name/],
  ['header name too long', { ...base, headers: { [`X-${long(80)}`]: 'x' } }, 'headers[0]', /longer than 76/],
  ['header line over 998 octets', { ...base, headers: { 'X-Long': long(993) } }, 'headers[0]', /1001 octets/],
  ['From through headers', { ...base, headers: { From: 'boss@example.com' } }, 'headers[0]', /set by the product/],
  ['to through headers (lower case)', { ...base, headers: { to: 'x@example.com' } }, 'headers[0]', /set by the product/],
  ['Bcc through headers', { ...base, headers: { BCC: 'x@example.com' } }, 'headers[0]', /set by the product/],
  ['Cc through headers', { ...base, headers: { Cc: 'x@example.com' } }, 'headers[0]', /set by the product/],
  ['Reply-To through headers', { ...base, headers: { 'Reply-To': 'x@example.com' } }, 'headers[0]', /set by the product/],
  ['Subject through headers', { ...base, headers: { SUBJECT: 'x' } }, 'headers[0]', /set by the product/],
  ['Message-ID through headers', { ...base, headers: { 'Message-Id': '<x@y>' } }, 'headers[0]', /set by the product/],
  ['Date through headers', { ...base, headers: { Date: 'Mon, 1 Jan 2024 00:00:00 +0000' } }, 'headers[0]', /set by the product/],
  ['MIME-Version through headers', { ...base, headers: { 'Mime-Version': '1.0' } }, 'headers[0]', /set by the product/],
  ['Content-Type through headers', { ...base, headers: { 'Content-Type': 'text/html' } }, 'headers[0]', /set by the product/],
  ['Content-Transfer-Encoding through headers', { ...base, headers: { 'content-transfer-encoding': '8bit' } }, 'headers[0]', /set by the product/],
  ['Sender through headers', { ...base, headers: { Sender: 'x@example.com' } }, 'headers[0]', /set by the product/],
  ['Return-Path through headers', { ...base, headers: { 'Return-Path': '<x@example.com>' } }, 'headers[0]', /set by the product/],
  ['the same header twice in different case', { ...base, headers: { 'X-A': '1', 'x-a': '2' } }, 'headers[1]', /given twice/],
  ['51 headers', { ...base, headers: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`X-H${i}`, 'v'])) }, 'headers', /at most 50/],
  // attachments
  ['attachments as object', { ...base, attachments: { filename: 'a' } }, 'attachments', /not an object/],
  ['attachment as string', { ...base, attachments: ['a.txt'] }, 'attachments[0]', /must be an object, not a string/],
  ['attachment without content', att({ content: undefined }), 'attachments[0].content', /is required/],
  ['attachment content with line breaks', att({ content: 'aGVs\r\nbG8=' }), 'attachments[0].content', /base64/],
  ['attachment content not base64', att({ content: 'hello world' }), 'attachments[0].content', /base64/],
  ['attachment content base64url', att({ content: 'a-_b' }), 'attachments[0].content', /base64/],
  ['attachment content without padding', att({ content: 'aGVsbG8' }), 'attachments[0].content', /base64/],
  ['attachment content as bytes', att({ content: [104, 105] }), 'attachments[0].content', /not a list/],
  ['attachment filename with path', att({ filename: '../../etc/passwd' }), 'attachments[0].filename', /without a folder/],
  ['attachment filename with backslash', att({ filename: 'C:\\x.txt' }), 'attachments[0].filename', /without a folder/],
  ['attachment filename with CRLF', att({ filename: 'a.txt\r\nContent-Type: text/html' }), 'attachments[0].filename', /control characters/],
  ['attachment filename with RTL override', att({ filename: 'photo\u202Egpj.exe' }), 'attachments[0].filename', /text-direction/],
  ['attachment filename empty', att({ filename: '' }), 'attachments[0].filename', /cannot be empty/],
  ['attachment filename too long', att({ filename: `${long(252)}.txt` }), 'attachments[0].filename', /longer than 255/],
  ['attachment contentType missing', att({ contentType: undefined }), 'attachments[0].contentType', /is required/],
  ['attachment contentType without subtype', att({ contentType: 'text' }), 'attachments[0].contentType', /not a MIME type/],
  ['attachment contentType with CRLF', att({ contentType: 'text/plain\r\nX-Evil: 1' }), 'attachments[0].contentType', /not a MIME type/],
  [
    'attachment contentType with a boundary trick',
    att({ contentType: 'text/plain; boundary="a\r\n"' }),
    'attachments[0].contentType',
    /not a MIME type/,
  ],
  ['attachment contentType multipart', att({ contentType: 'multipart/mixed' }), 'attachments[0].contentType', /multipart/],
  ['attachment contentId with brackets', att({ contentId: '<logo@x>' }), 'attachments[0].contentId', /without angle brackets/],
  ['attachment contentId with space', att({ contentId: 'lo go' }), 'attachments[0].contentId', /Content-ID/],
  ['attachment contentId with CRLF', att({ contentId: 'a\r\nb' }), 'attachments[0].contentId', /Content-ID/],
  ['attachment unknown field path', att({ path: '/etc/passwd' }), 'attachments[0]', /"path" is not a field of an attachment/],
  ['attachment unknown field href', att({ href: 'http://169.254.169.254/' }), 'attachments[0]', /"href" is not a field of an attachment/],
  ['attachment with a typo', att({ contentID: 'x@y' }), 'attachments[0]', /"contentID" is not a field of an attachment/],
  [
    'duplicate content ids',
    {
      ...base,
      attachments: [
        { filename: 'a.png', contentType: 'image/png', content: '', contentId: 'x@y' },
        { filename: 'b.png', contentType: 'image/png', content: '', contentId: 'x@y' },
      ],
    },
    'attachments[1]',
    /used twice/,
  ],
  [
    '101 attachments',
    { ...base, attachments: Array.from({ length: 101 }, () => ({ filename: 'a', contentType: 'a/b', content: '' })) },
    'attachments',
    /at most 100/,
  ],
  // unknown fields
  ['typo subjet', { ...base, subjet: 'x' }, '', /"subjet" .*check the spelling/],
  ['nodemailer field raw path', { ...base, attachDataUrls: true }, '', /"attachDataUrls" .*check the spelling/],
  ['envelope field on a composed job', { ...base, envelope: { from: 'x@y.z', to: ['a@b.c'] } }, '', /"envelope" .*check the spelling/],
  [
    'too deep nesting',
    { ...base, extra: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } } },
    '*.*.*.*.*.*.*.*.*',
    /nested too deeply/,
  ],
  // raw jobs
  ['raw with composed fields', { ...raw('From: a@example.com\r\n\r\nx'), to: 'a@example.com', subject: 'x' }, '', /"to" is not allowed in a raw job/],
  ['raw as string', { v: 1, raw: 'From: a@example.com\r\n\r\nx' }, 'raw', /must be an object, not a string/],
  ['raw without envelope', { v: 1, raw: { message: 'From: a@example.com\r\n\r\nx' } }, 'raw.envelope', /is required/],
  [
    'raw envelope to as string',
    raw('From: a@example.com\r\n\r\nx', { from: 'a@example.com', to: 'b@example.com' }),
    'raw.envelope.to',
    /list of addresses/,
  ],
  ['raw envelope to empty', raw('From: a@example.com\r\n\r\nx', { from: 'a@example.com', to: [] }), 'raw.envelope.to', /empty list/],
  [
    'raw envelope to with a name',
    raw('From: a@example.com\r\n\r\nx', { from: 'a@example.com', to: ['Bob <b@example.com>'] }),
    'raw.envelope.to[0]',
    /bare address/,
  ],
  [
    'raw envelope from with CRLF',
    raw('From: a@example.com\r\n\r\nx', { from: 'a@example.com\r\nRCPT TO:<x@evil.example>', to: ['b@example.com'] }),
    'raw.envelope.from',
    /control characters/,
  ],
  [
    'raw envelope unknown field',
    raw('From: a@example.com\r\n\r\nx', { from: 'a@example.com', to: ['b@example.com'], cc: ['c@example.com'] }),
    'raw.envelope',
    /"cc" is not a field of an envelope/,
  ],
  ['raw message empty', raw(''), 'raw.message', /is empty/],
  ['raw message without headers', raw('\r\njust a body'), 'raw.message', /no header section/],
  ['raw message that is not a header', raw('Hello there\r\n\r\nbody'), 'raw.message', /not a "Name: value" field/],
  ['raw message without From', raw('Subject: x\r\n\r\nbody'), 'raw.message', /no From field/],
  ['raw message with two From fields', raw('From: a@example.com\r\nFrom: b@example.com\r\n\r\nbody'), 'raw.message', /more than one from/],
  ['raw message with Bcc', raw('From: a@example.com\r\nBcc: secret@example.com\r\n\r\nbody'), 'raw.message', /Bcc field/],
  ['raw message with bare CR', raw('From: a@example.com\rBcc: x@evil.example\r\n\r\nbody'), 'raw.message', /CR that is not followed by LF/],
  ['raw message with NUL', raw('From: a@example.com\r\n\r\nbo\u0000dy'), 'raw.message', /NUL/],
  ['raw message with a 999-octet line', raw(`From: a@example.com\r\n\r\n${long(999)}\r\n`), 'raw.message', /line 3 is longer than 998 octets/],
  ['raw message with lone surrogate', raw('From: a@example.com\r\n\r\n\ud800'), 'raw.message', /lone surrogate/],
  ['raw message starting with continuation', raw(' folded\r\nFrom: a@example.com\r\n\r\nx'), 'raw.message', /continuation line/],
  ['raw message as number', raw(42), 'raw.message', /not a number/],
  // tags
  ['11 tags', { ...base, tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])) }, 'tags', /has 11 tags; at most 10/],
  // valibot's record takes a list for an object of indices: refused by its items.
  ['tags as a list', { ...base, tags: [['k', 'v']] }, 'tags.*', /must be a string, not a list/],
  ['tags as a string', { ...base, tags: 'k=v' }, 'tags', /must be an object, not a string/],
  ['tag key with a space', { ...base, tags: { 'a b': 'v' } }, 'tags.*', /tag key must be 1 to 64 letters/],
  ['tag key empty', { ...base, tags: { '': 'v' } }, 'tags.*', /tag key must be 1 to 64 letters/],
  ['tag key of 65 characters', { ...base, tags: { ['k'.repeat(65)]: 'v' } }, 'tags.*', /tag key must be 1 to 64 letters/],
  ['tag key with an @', { ...base, tags: { 'ann@example.com': 'v' } }, 'tags.*', /tag key must be 1 to 64 letters/],
  ['tag value with CRLF', { ...base, tags: { k: 'a\r\nX-Injected: 1' } }, 'tags.*', /printable ASCII/],
  ['tag value non-ASCII', { ...base, tags: { k: 'Grüße' } }, 'tags.*', /printable ASCII/],
  ['tag value of 257 characters', { ...base, tags: { k: 'v'.repeat(257) } }, 'tags.*', /at most 256/],
  ['tag value a number', { ...base, tags: { k: 1 } }, 'tags.*', /must be a string, not a number/],
  // delaySeconds
  ['delaySeconds 901', { ...base, delaySeconds: 901 }, 'delaySeconds', /at most 900 seconds/],
  ['delaySeconds negative', { ...base, delaySeconds: -1 }, 'delaySeconds', /cannot be negative/],
  ['delaySeconds 1.5', { ...base, delaySeconds: 1.5 }, 'delaySeconds', /whole number/],
  ['delaySeconds as a string', { ...base, delaySeconds: '60' }, 'delaySeconds', /must be a number/],
  // envelopeFrom
  ['envelopeFrom with a display name', { ...base, envelopeFrom: 'Bounces <b@example.com>' }, 'envelopeFrom', /./],
  ['envelopeFrom with CRLF', { ...base, envelopeFrom: 'b@example.com>\r\nRCPT TO:<x@evil.example' }, 'envelopeFrom', /./],
  ['envelopeFrom empty', { ...base, envelopeFrom: '' }, 'envelopeFrom', /./],
  ['envelopeFrom as an object', { ...base, envelopeFrom: { address: 'b@example.com' } }, 'envelopeFrom', /./],
  // listUnsubscribe
  ['listUnsubscribe empty', { ...base, listUnsubscribe: {} }, 'listUnsubscribe', /is empty: give url, mailto or both/],
  ['listUnsubscribe as a string', { ...base, listUnsubscribe: 'https://example.com/u' }, 'listUnsubscribe', /must be an object, not a string/],
  [
    'listUnsubscribe unknown field',
    { ...base, listUnsubscribe: { url: 'https://example.com/u', post: true } },
    'listUnsubscribe',
    /"post" is not a field of listUnsubscribe/,
  ],
  ['listUnsubscribe http url', { ...base, listUnsubscribe: { url: 'http://example.com/u' } }, 'listUnsubscribe.url', /https:\/\/ URL/],
  ['listUnsubscribe url with a space', { ...base, listUnsubscribe: { url: 'https://example.com/u x' } }, 'listUnsubscribe.url', /https:\/\/ URL/],
  [
    'listUnsubscribe url with CRLF',
    { ...base, listUnsubscribe: { url: 'https://example.com/u\r\nBcc: x@evil.example' } },
    'listUnsubscribe.url',
    /https:\/\/ URL/,
  ],
  [
    'listUnsubscribe url with >',
    { ...base, listUnsubscribe: { url: 'https://example.com/u>, <https://evil.example/' } },
    'listUnsubscribe.url',
    /https:\/\/ URL/,
  ],
  ['listUnsubscribe url without a host', { ...base, listUnsubscribe: { url: 'https:///u' } }, 'listUnsubscribe.url', /https:\/\/ URL/],
  [
    'listUnsubscribe url of 701 characters',
    { ...base, listUnsubscribe: { url: `https://example.com/${long(681)}` } },
    'listUnsubscribe.url',
    /longer than 700/,
  ],
  ['listUnsubscribe mailto with <', { ...base, listUnsubscribe: { mailto: 'mailto:<u@example.com>' } }, 'listUnsubscribe.mailto', /mailto: URI/],
  [
    'listUnsubscribe mailto with CRLF',
    { ...base, listUnsubscribe: { mailto: 'u@example.com\r\nBcc: x@evil.example' } },
    'listUnsubscribe.mailto',
    /mailto: URI/,
  ],
  ['listUnsubscribe mailto https', { ...base, listUnsubscribe: { mailto: 'https://example.com/u' } }, 'listUnsubscribe.mailto', /mailto: URI/],
  [
    'listUnsubscribe and List-Unsubscribe in headers',
    { ...base, headers: { 'list-unsubscribe': '<https://example.com/u>' }, listUnsubscribe: { url: 'https://example.com/u' } },
    'headers[0]',
    /written from listUnsubscribe; give it in one place only/,
  ],
  [
    'listUnsubscribe and List-Unsubscribe-Post in headers',
    { ...base, headers: { 'X-A': 'a', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }, listUnsubscribe: { mailto: 'u@example.com' } },
    'headers[1]',
    /written from listUnsubscribe/,
  ],
  [
    'raw job with envelopeFrom',
    { ...raw('From: a@example.com\r\n\r\nx'), envelopeFrom: 'b@example.com' },
    '',
    /"envelopeFrom" is not allowed in a raw job.*MAIL FROM/,
  ],
  [
    'raw job with listUnsubscribe',
    { ...raw('From: a@example.com\r\n\r\nx'), listUnsubscribe: { url: 'https://example.com/u' } },
    '',
    /"listUnsubscribe" is not allowed in a raw job/,
  ],
  [
    'raw job with 11 tags',
    { ...raw('From: a@example.com\r\n\r\nx'), tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])) },
    'tags',
    /at most 10/,
  ],
];
