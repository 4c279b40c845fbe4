/**
 * Reading a queue message body as JSON. `JSON.parse` of 1 MiB is cheap unless the text is made to
 * build a huge structure: 300,000 empty objects take ~40 ms and ~22 MB, 500,000 nested lists
 * ~190 ms; a text no mail job looks like is refused before it is parsed.
 * @module
 */
import { InvalidJobError } from './InvalidJobError.js';
import { MAX_DEPTH, MAX_VALUES } from './jobShape.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Parses a queue message body as JSON, after one pass over the text (no allocation) that refuses
 * bodies nested deeper than a job can be or holding more values than a job can hold (counted as
 * `{`, `[` and `,` outside strings), so that such a body never becomes a structure in memory.
 * @throws {InvalidJobError} when the text is too deep or holds too many values (path `""`).
 * @throws {SyntaxError} when the text is not JSON (from `JSON.parse`).
 * @example
 * const job = parseMailJob(readJobBody(record.body));
 */
export function readJobBody(body: string): unknown {
  const problem = structureProblem(body);
  if (problem !== undefined) throw new InvalidJobError([{ path: '', message: `the message body ${problem}` }]);
  return JSON.parse(body);
}

function structureProblem(text: string): string | undefined {
  let depth = 0;
  let values = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      // Skip the string: to its closing quote, stepping over every escaped character.
      for (index += 1; index < text.length; index += 1) {
        const inner = text.charCodeAt(index);
        if (inner === BACKSLASH) index += 1;
        else if (inner === QUOTE) break;
      }
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      values += 1;
      // The job object itself is one level of brackets.
      if (depth > MAX_DEPTH + 1) return `is nested deeper than ${MAX_DEPTH} levels: no mail job is`;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
    } else if (code === COMMA) {
      values += 1;
    }
    if (values > MAX_VALUES) return `holds more than ${MAX_VALUES} values: no mail job does`;
  }
  return undefined;
}
