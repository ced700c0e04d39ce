/**
 * Looking at a database without changing it, for `doctor`: opened read-only,
 * so a check neither migrates an old schema nor takes the write lock.
 */
import Database from 'better-sqlite3';
import type { Db } from './database';
import { loadMigrations } from './database';

export interface DatabaseHealth {
  /** The database, read-only, for the other checks; the caller closes it. */
  db: Db;
  /** PRAGMA integrity_check's rows: ['ok'] when sound. */
  integrity: string[];
  /** PRAGMA user_version: how many migrations were applied. */
  schemaVersion: number;
  /** How many migrations this pocketca has. */
  latestVersion: number;
}

/** Throws what better-sqlite3 throws for a file that is not a database or cannot be opened. */
export function inspectDatabase(path: string): DatabaseHealth {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    return {
      db,
      integrity: integrity.map((r) => r.integrity_check),
      schemaVersion: db.pragma('user_version', { simple: true }) as number,
      latestVersion: loadMigrations().length,
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
