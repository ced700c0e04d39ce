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
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    schemaVersion: db.pragma('user_version', { simple: true }) as number,
    integrity: rows.map((r) => r.integrity_check).join('; '),
    caFingerprintSha256: getSetting(db, 'ca_fingerprint_sha256'),
    latestCrl: crl ? { number: crl.number, sha256: crl.sha256 } : undefined,
    certificates: count('certificates'),
    revocations: count('revocations'),
  };
}

/** The schema check restore makes lives with the one every command makes. */
export { schemaDifferences } from './schema';
