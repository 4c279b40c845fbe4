/**
 * A cheap look at the shape of a job before its fields are checked: how deep it is, how many
 * values it holds, and reserved keys. A hostile job (a list of a million items, an object of a
 * hundred thousand fields, nesting without end, the same list shared many times from JavaScript)
 * is refused here by its size, before anything looks at its items, so that checking it costs
 * little time and memory and makes a short list of problems.
 * @module
 */
import { quoteValue } from './characters.js';
import type { JobIssue } from './InvalidJobError.js';
import { formatPath, type PathKey, pathKeyOf } from './jobPath.js';

/** A job is shallow (`raw.envelope.to[0]` is the deepest value of a valid job); anything deeper is refused before it is walked. */
export const MAX_DEPTH = 8;
/**
 * Most values (list items and object fields, at every level) a job may hold. A valid job holds
 * at most about 1,200 (100 recipients and 100 reply-to addresses as objects, 100 attachments,
 * 50 headers), so no valid job comes near it.
 */
export const MAX_VALUES = 4096;
/** Keys that could reach an object's prototype if some code copied them naively. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** What {@link shapeIssues} found. */
export interface ShapeResult {
  issues: JobIssue[];
  /** The job holds more values than {@link MAX_VALUES}: its fields are not worth checking. */
  tooLarge: boolean;
}

interface Pending {
  value: unknown;
  path: PathKey[];
  depth: number;
}

/**
 * Walks `input` once, depth first, without recursion: refuses reserved keys (`__proto__`,
 * `constructor`, `prototype`) anywhere, values nested deeper than {@link MAX_DEPTH}, and stops at
 * the first list or object whose items would take the job past {@link MAX_VALUES} values (its
 * length is read, its items are not). Cycles and shared values (possible from JavaScript) end at
 * the depth limit or the value budget.
 */
export function shapeIssues(input: object): ShapeResult {
  const issues: JobIssue[] = [];
  let budget = MAX_VALUES;
  const stack: Pending[] = [{ value: input, path: [], depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path, depth } = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_DEPTH) {
      issues.push({ path: formatPath(path), message: 'is nested too deeply for a mail job' });
      continue;
    }
    const list = Array.isArray(value);
    const keys = list ? null : Object.keys(value);
    const size = keys === null ? (value as unknown[]).length : keys.length;
    if (size > budget) {
      const what = list ? 'items' : 'fields';
      issues.push({ path: formatPath(path), message: `has ${size} ${what}; a mail job holds at most ${MAX_VALUES} values in all` });
      return { issues, tooLarge: true };
    }
    budget -= size;
    if (keys === null) {
      const items = value as unknown[];
      for (let index = items.length - 1; index >= 0; index -= 1) stack.push({ value: items[index], path: [...path, index], depth: depth + 1 });
      continue;
    }
    const record = value as Record<string, unknown>;
    const children: Pending[] = [];
    for (const key of keys) {
      if (RESERVED_KEYS.has(key))
        issues.push({ path: formatPath(path), message: `${quoteValue(key)} is a reserved name and not allowed anywhere in a mail job` });
      else children.push({ value: record[key], path: [...path, pathKeyOf(key)], depth: depth + 1 });
    }
    for (const child of children.reverse()) stack.push(child);
  }
  return { issues, tooLarge: false };
}
