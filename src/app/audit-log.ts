/**
 * `pocketca log`: the audit trail from the events table. Every command that
 * changes the CA records an event in the same transaction as the change;
 * refused operations (a wrong passphrase, a forged CSR) are recorded too.
 */
import { UsageError } from '../errors';
import { listEvents, type EventRow } from '../store/events';
import type { AppContext } from '../host/context';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface LogParams {
  /** Only events at or after this: YYYY-MM-DD (UTC), an ISO-8601 time, Nd or Nh (days or hours ago); default all. */
  since?: string;
}

/** `--since` as an instant: a date is midnight UTC, `7d` seven days and `12h` twelve hours before now. */
export function parseSince(text: string, now: Date): Date {
  const relative = /^(\d{1,5})(d|h)$/.exec(text);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (relative[2] === 'd' ? DAY_MS : HOUR_MS));
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.exec(text);
  const date = iso ? new Date(iso[1] ? text : `${text}T00:00:00Z`) : undefined;
  // Date rolls 2026-02-31 over to March 3rd; a day that does not exist is a typo.
  const valid = date !== undefined && !Number.isNaN(date.getTime()) && (iso![1] !== undefined || date.toISOString().startsWith(text));
  if (!valid) {
    throw new UsageError(`--since ${JSON.stringify(text)} is not a date`, 'use YYYY-MM-DD, an ISO-8601 time like 2026-05-01T12:00Z, or 7d / 12h for the last seven days / twelve hours');
  }
  return date!;
}

export function readAuditLog(ctx: AppContext, p: LogParams): EventRow[] {
  const since = p.since === undefined ? undefined : parseSince(p.since, ctx.now()).toISOString();
  return listEvents(ctx.home.database(), since);
}
