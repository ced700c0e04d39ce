/**
 * Consistent copies of a live database for `backup` and the checks `restore`
 * makes before a copy becomes a home's database.
 */
import type { Db } from './database';
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

/** The schema check restore makes lives with the one every command makes. */
export { schemaDifferences } from './schema';
