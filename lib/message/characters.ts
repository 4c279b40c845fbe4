/**
 * Character rules shared by the job checks: control characters, invisible and text-direction
 * characters, lone surrogates (text that is not valid Unicode, so not valid UTF-8 either).
 * @module
 */

/** C0 controls (CR, LF, NUL, ...), DEL and C1 controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** The same without TAB. */
const CONTROL_EXCEPT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
/** NUL is never allowed, not even in bodies. */
const NUL = /\u0000/;
/** Zero-width characters, direction marks and overrides, BOM: they hide or reorder what a reader sees. */
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/** What a piece of text may contain. */
export type TextPolicy = 'line' | 'line-with-tab' | 'body';

/**
 * Why `value` is not acceptable text under `policy`, or `undefined` when it is.
 * `'line'` refuses every control character and invisible character; `'line-with-tab'` lets TAB through;
 * `'body'` refuses only NUL. All refuse lone surrogates.
 */
export function textProblem(value: string, policy: TextPolicy): string | undefined {
  if (!value.isWellFormed()) return 'contains a lone surrogate (text that is not valid Unicode, so not valid UTF-8)';
  if (policy === 'body') return NUL.test(value) ? 'contains a NUL character' : undefined;
  const control = policy === 'line' ? CONTROL : CONTROL_EXCEPT_TAB;
  if (control.test(value)) return 'contains control characters (such as CR, LF or NUL)';
  if (INVISIBLE.test(value)) return 'contains invisible or text-direction characters';
  return undefined;
}

/** A short, escaped rendering of a value for error messages (never more than about 60 characters). */
export function quoteValue(value: string): string {
  const shown = value.length > 48 ? `${value.slice(0, 48)}…` : value;
  return JSON.stringify(shown.toWellFormed());
}

/** Plain words for the type of a value: `a number`, `null`, `a list`, ... */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      return 'an object';
    case 'undefined':
      return 'missing';
    case 'bigint':
    case 'function':
    case 'symbol':
      break;
  }
  return `a ${typeof value}`;
}
