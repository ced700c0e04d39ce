/**
 * Consistent copies of a live database for `backup` and the checks `restore`
 * makes before a copy becomes a home's database.
 */
import Database from 'better-sqlite3';
import { DatabaseTooNewError } from '../errors';
import { loadMigrations, migrate, type Db } from './database';
import { latestCrl } from './crls';
import { getSetting } from './settings';

/**
 * SQLite's online backup API: a page-by-page copy that restarts when another
 * connection writes meanwhile, so the result is one committed state, never a
 * torn one (a file copy of a WAL database can be).
 */
export async function snapshotDatabase(db: Db, destination: string): Promise<void> {
  await db.backup(destination);
}

export interface DatabaseFacts {
  /** PRAGMA user_version. */
  schemaVersion: number;
  /** 'ok', or what PRAGMA integrity_check found. */
  integrity: string;
  /** The CA the database belongs to (setting ca_fingerprint_sha256). */
  caFingerprintSha256: string | undefined;
  latestCrl: { number: number; sha256: string } | undefined;
  certificates: number;
  revocations: number;
}

export function describeDatabase(db: Db): DatabaseFacts {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  const crl = latestCrl(db);
  return {
    schemaVersion: db.pragma('user_version', { simple: true }) as number,
    integrity: rows.map((r) => r.integrity_check).join('; '),
    caFingerprintSha256: getSetting(db, 'ca_fingerprint_sha256'),
    latestCrl: crl ? { number: crl.number, sha256: crl.sha256 } : undefined,
    ...countRecords(db),
  };
}

/** How many certificates and revocations the database records. */
export function countRecords(db: Db): { certificates: number; revocations: number } {
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { certificates: count('certificates'), revocations: count('revocations') };
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * PRAGMA user_version read from a database file's header (offset 60, 4 bytes
 * big-endian: sqlite.org/fileformat2.html#user_version_number), without
 * opening it; undefined when the bytes are not an SQLite database. For a
 * file alone (a backup's member, no -wal beside it) the header is the
 * database's own: nothing can override it.
 */
export function sqliteUserVersion(file: Buffer): number | undefined {
  if (file.length < 100 || !file.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) return undefined;
  return file.readUInt32BE(60);
}

/** One schema object as sqlite_master lists it, without its rootpage (where it happens to be stored). */
interface SchemaEntry {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/** A name from a hostile file, safe in a one-line message. */
const shown = (name: string): string => JSON.stringify(name.length > 64 ? name.slice(0, 64) + '...' : name).replace(/[^\x20-\x7e]/g, '?');

function schemaOf(db: Db): Map<string, SchemaEntry> {
  const rows = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all() as SchemaEntry[];
  return new Map(rows.map((r) => [JSON.stringify([r.type, r.name]), r]));
}

/** SQL text with runs of whitespace as one space: a layout change is not a schema change. */
const normalized = (sql: string | null): string | null => (sql === null ? null : sql.replace(/\s+/g, ' ').trim());

/**
 * How the schema of `db` (tables, indexes, triggers, views) differs from the
 * one pocketca's migrations create, up to the database's own user_version, on
 * a fresh in-memory database; empty when it is the same. A database from a
 * backup is trusted only this way: SQLite runs a planted trigger whatever
 * trusted_schema says, so one that deletes every later revocation would be
 * restored with the records (issue 9). `db` should be open with
 * trustedSchema false and not migrated. A version newer than the migrations is
 * DatabaseTooNewError.
 */
export function schemaDifferences(db: Db): string[] {
  const migrations = loadMigrations();
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    throw new DatabaseTooNewError(`database schema version ${version} is newer than this pocketca knows (${migrations.length})`, 'upgrade pocketca');
  }
  if (version < 1) return ['it has no pocketca schema version (user_version 0)'];
  const fresh = new Database(':memory:');
  let expected: Map<string, SchemaEntry>;
  try {
    migrate(fresh, migrations.slice(0, version));
    expected = schemaOf(fresh);
  } finally {
    fresh.close();
  }
  const actual = schemaOf(db);
  const differences: string[] = [];
  for (const [key, entry] of actual) {
    const want = expected.get(key);
    if (!want) differences.push(`an extra ${entry.type} ${shown(entry.name)}`);
    else if (want.tbl_name !== entry.tbl_name || normalized(want.sql) !== normalized(entry.sql)) differences.push(`a changed ${entry.type} ${shown(entry.name)}`);
  }
  for (const [key, entry] of expected) if (!actual.has(key)) differences.push(`no ${entry.type} ${shown(entry.name)}`);
  return differences;
}
