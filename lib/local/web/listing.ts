/**
 * The page's lists, computed on the server: filtered by a search text and an outcome, newest
 * first, cut into pages. Pure functions over what the run holds, so the browser never gets more
 * than one page.
 * @module
 */

/** Rows per page unless asked otherwise. */
export const PAGE_SIZE = 50;
/** Most rows one page may ask for. */
export const MAX_PAGE_SIZE = 200;

/** What a list is asked for (from the query string). */
export interface ListQuery {
  /** Words that must all appear (case-insensitive) in a row's searchable text. */
  search: string;
  /** Only rows with this outcome (`''`: all). */
  outcome: string;
  /** 1-based. */
  page: number;
  pageSize: number;
}

/** One page of a list. */
export interface ListPage<T> {
  items: T[];
  /** Rows matching the search and the outcome, on every page. */
  total: number;
  page: number;
  pages: number;
  pageSize: number;
  /** Rows matching the search, by outcome, before the outcome filter (for the filter's labels). */
  outcomes: Record<string, number>;
}

/** Reads a list's query from a URL's search parameters; anything malformed falls back to the default. */
export function listQueryOf(params: URLSearchParams): ListQuery {
  const whole = (name: string, fallback: number, max: number): number => {
    const value = Number(params.get(name));
    return Number.isInteger(value) && value >= 1 ? Math.min(value, max) : fallback;
  };
  return {
    search: (params.get('q') ?? '').trim().slice(0, 200),
    outcome: (params.get('outcome') ?? '').trim(),
    page: whole('page', 1, Number.MAX_SAFE_INTEGER),
    pageSize: whole('pageSize', PAGE_SIZE, MAX_PAGE_SIZE),
  };
}

/** How {@link listPage} reads a row. */
export interface RowReader<T> {
  /** The text the search looks in (subject, recipients, ids...). */
  text(row: T): string;
  outcome(row: T): string;
}

/**
 * The page of `rows` (already newest first) that `query` asks for. A page past the end gives the
 * last page.
 * @example
 * listPage(entries, { search: 'ann', outcome: '', page: 2, pageSize: 50 }, { text: (e) => e.subject, outcome: (e) => e.outcome });
 */
export function listPage<T>(rows: readonly T[], query: ListQuery, reader: RowReader<T>): ListPage<T> {
  const words = query.search.toLowerCase().split(/\s+/).filter(Boolean);
  const found = words.length === 0 ? [...rows] : rows.filter((row) => matches(reader.text(row).toLowerCase(), words));
  const outcomes: Record<string, number> = {};
  for (const row of found) {
    const outcome = reader.outcome(row);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  const kept = query.outcome === '' ? found : found.filter((row) => reader.outcome(row) === query.outcome);
  const pages = Math.max(1, Math.ceil(kept.length / query.pageSize));
  const page = Math.min(query.page, pages);
  const start = (page - 1) * query.pageSize;
  return { items: kept.slice(start, start + query.pageSize), total: kept.length, page, pages, pageSize: query.pageSize, outcomes };
}

function matches(text: string, words: readonly string[]): boolean {
  return words.every((word) => text.includes(word));
}
