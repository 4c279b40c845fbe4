/**
 * `--since`: a time ago (`30m`, `2h`, `7d`, `90s`) or an ISO date.
 * @module
 */
import { UsageError } from './cliIo.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * The moment `text` names: `now` less a duration (`45s`, `30m`, `2h`, `7d`, `1w`), or an ISO 8601 date.
 * @throws {UsageError} for anything else
 * @example
 * parseSince('2h', new Date('2026-12-01T12:00:00Z')); // 2026-12-01T10:00:00.000Z
 */
export function parseSince(text: string, now: Date): Date {
  const ago = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (ago !== null) return new Date(now.getTime() - Number(ago[1]) * (UNIT_SECONDS[(ago[2] ?? 's').toLowerCase()] ?? 1) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UsageError(`--since takes a time ago (30m, 2h, 7d) or an ISO date, not ${JSON.stringify(text)}`);
}
