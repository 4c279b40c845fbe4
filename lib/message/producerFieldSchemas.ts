/**
 * The valibot schemas of the producer's fields added to version 1 (issue 10): `tags`,
 * `delaySeconds`, `envelopeFrom` and `listUnsubscribe`. Every v1 job without them stays valid.
 * @module
 */
import * as v from 'valibot';
import { parseBareAddress } from './address.js';
import { bareAddress } from './fieldSchemas.js';

/** Most tags a job may carry. */
export const MAX_TAGS = 10;
/** A tag's key: letters, digits and `_ . : -`, 1 to 64 of them. */
export const TAG_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Longest tag value, in characters (printable ASCII, spaces included). */
export const MAX_TAG_VALUE_LENGTH = 256;
/** Longest `delaySeconds`: SQS's own limit of 15 minutes. */
export const MAX_DELAY_SECONDS = 900;
/**
 * `listUnsubscribe.url`: https only (RFC 8058 one-click needs it), a host, then printable ASCII
 * without spaces, `<` or `>` (the URL goes between angle brackets in the header), at most 700
 * characters so that the whole List-Unsubscribe line fits in 998 octets.
 */
export const UNSUBSCRIBE_URL = /^https:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][\x21-\x3b\x3d\x3f-\x7e]*)?$/;
/** Longest `listUnsubscribe.url`. */
export const MAX_UNSUBSCRIBE_URL_LENGTH = 700;
/**
 * `listUnsubscribe.mailto`: `mailto:` (optional: a bare address gets it) with an ASCII address and
 * an optional `?subject=…` query, printable ASCII without spaces, `<` or `>`.
 */
export const UNSUBSCRIBE_MAILTO =
  /^(?:mailto:)?[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+(?:\?[\x21-\x3b\x3d\x3f-\x7e]*)?$/;
/** Longest `listUnsubscribe.mailto`. */
export const MAX_UNSUBSCRIBE_MAILTO_LENGTH = 250;

/**
 * `tags`: up to {@link MAX_TAGS} key/value strings for the producer's own tracing. They are logged
 * with the outcome and put on a dead letter; they never reach the message.
 */
export const tags = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(TAG_KEY, 'a tag key must be 1 to 64 letters, digits, "_", ".", ":" or "-"')),
    v.pipe(
      v.string(),
      v.maxLength(MAX_TAG_VALUE_LENGTH, `a tag value is at most ${MAX_TAG_VALUE_LENGTH} characters`),
      v.regex(/^[\x20-\x7e]*$/, 'a tag value must be printable ASCII (spaces allowed, no control characters)'),
    ),
  ),
  v.maxEntries(MAX_TAGS, (issue) => `has ${Object.keys(issue.input).length} tags; at most ${MAX_TAGS} are allowed`),
);

/** `delaySeconds`: SQS holds the message this long before anyone can receive it (standard queues only). */
export const delaySeconds = v.pipe(
  v.number(),
  v.integer('must be a whole number of seconds'),
  v.minValue(0, 'cannot be negative'),
  v.maxValue(MAX_DELAY_SECONDS, `is at most ${MAX_DELAY_SECONDS} seconds (15 minutes, the most SQS delays a message)`),
);

/** `envelopeFrom`: the bounce address (MAIL FROM), a bare address. */
export const envelopeFrom = bareAddress(parseBareAddress);

/** `listUnsubscribe`: where a reader unsubscribes; at least one of `url` and `mailto`. */
export const listUnsubscribe = v.pipe(
  v.objectWithRest(
    {
      url: v.optional(
        v.pipe(
          v.string(),
          v.maxLength(MAX_UNSUBSCRIBE_URL_LENGTH, `is longer than ${MAX_UNSUBSCRIBE_URL_LENGTH} characters`),
          v.regex(UNSUBSCRIBE_URL, 'must be an https:// URL without spaces, line breaks, "<" or ">" (RFC 8058 one-click unsubscribe needs https)'),
        ),
      ),
      mailto: v.optional(
        v.pipe(
          v.string(),
          v.maxLength(MAX_UNSUBSCRIBE_MAILTO_LENGTH, `is longer than ${MAX_UNSUBSCRIBE_MAILTO_LENGTH} characters`),
          v.regex(
            UNSUBSCRIBE_MAILTO,
            'must be an ASCII address or a mailto: URI (mailto:unsubscribe@example.com?subject=stop) without spaces, line breaks, "<" or ">"',
          ),
        ),
      ),
    },
    v.never('is not a field of listUnsubscribe (url, mailto)'),
  ),
  v.minEntries(1, 'is empty: give url, mailto or both'),
);
