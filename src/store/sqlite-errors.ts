/**
 * SQLite's error codes as what they mean for the user. A damaged database
 * fails on the query that reaches the damaged page, long after it opened, so
 * main.ts passes every unexpected error through here: "disk image is
 * malformed" must be exit 1 with a hint, not an internal error (exit 70).
 * No better-sqlite3 import: main loads this on every error.
 */
import { DatabaseError } from '../errors';

const DOCTOR_HINT = 'run `pocketca doctor`; restore the home from a backup with `pocketca restore` if it reports damage';

/** The DatabaseError for an SQLite error (code SQLITE_...), or undefined for anything else. */
export function asDatabaseError(error: unknown, path = 'the database'): DatabaseError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const detail = error instanceof Error ? error.message.split('\n')[0] : code;
  const base = code.replace(/^(SQLITE_[A-Z]+).*$/, '$1');
  switch (base) {
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new DatabaseError(`database ${path} is corrupt or not a pocketca database`, 'restore it from a backup with `pocketca restore`');
    case 'SQLITE_READONLY':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return new DatabaseError(`database ${path} cannot be written (${detail})`, 'check the permissions of the CA home and its files');
    case 'SQLITE_IOERR':
    case 'SQLITE_FULL':
      return new DatabaseError(`database ${path}: ${detail}`, 'check the disk (free space, a removed USB stick), then run `pocketca doctor`');
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new DatabaseError(`database ${path} is busy: another pocketca held it too long`, 'wait for the other pocketca to finish, then try again');
    case 'SQLITE_CONSTRAINT':
      return new DatabaseError(`database ${path} refused a change (${detail}); it may be damaged`, DOCTOR_HINT);
    default:
      return undefined;
  }
}

/**
 * The message of a trigger's RAISE(ABORT, ...) (SQLITE_CONSTRAINT_TRIGGER),
 * e.g. migration 006's "a revocation is permanent"; undefined for any other error.
 */
export function triggerAbortOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_TRIGGER' && error instanceof Error ? error.message.split('\n')[0] : undefined;
}
