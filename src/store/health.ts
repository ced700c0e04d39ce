/**
 * Looking at a database without changing it, for `doctor`: opened read-only
 * with trusted_schema off, so a check neither migrates an old schema nor
 * takes the write lock, nor runs anything a planted schema asks for.
 */
import { loadMigrations, openDatabase, type Db } from './database';
import { schemaDifferences } from './schema';

export interface DatabaseHealth {
  /** The database, read-only, for the other checks; the caller closes it. */
  db: Db;
  /** PRAGMA integrity_check's rows: ['ok'] when sound. */
  integrity: string[];
  /** PRAGMA user_version: how many migrations were applied. */
  schemaVersion: number;
  /** How many migrations this pocketca has. */
  latestVersion: number;
  /** How the schema differs from what the migrations make at schemaVersion (schemaDifferences); empty when it does not. */
  schemaDifferences: string[];
}

/** Throws what better-sqlite3 throws for a file that is not a database or cannot be opened. */
export function inspectDatabase(path: string): DatabaseHealth {
  const db = openDatabase(path, { create: false, readonly: true, migrate: false });
  try {
    const integrity = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    const latestVersion = loadMigrations().length;
    return {
      db,
      integrity: integrity.map((r) => r.integrity_check),
      schemaVersion,
      latestVersion,
      schemaDifferences: schemaVersion > latestVersion ? [] : schemaDifferences(db),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
