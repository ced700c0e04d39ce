import type { Db } from './database';

export interface CrlRecord {
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  entries: number;
  sha256: string;
}

export function nextCrlNumber(db: Db): number {
  const row = db.prepare('SELECT COALESCE(MAX(number), 0) + 1 AS n FROM crls').get() as { n: number };
  return row.n;
}

export function insertCrl(db: Db, record: CrlRecord): void {
  db.prepare(
    'INSERT INTO crls (number, this_update, next_update, entries, sha256) VALUES (@number, @thisUpdate, @nextUpdate, @entries, @sha256)',
  ).run(record);
}

/** The number of the recorded CRL whose DER has this SHA-256 (lowercase hex), if any. */
export function crlNumberBySha256(db: Db, sha256: string): number | undefined {
  const row = db.prepare('SELECT number FROM crls WHERE sha256 = ? ORDER BY number DESC LIMIT 1').get(sha256) as { number: number } | undefined;
  return row?.number;
}

export function latestCrl(db: Db): CrlRecord | undefined {
  return db
    .prepare('SELECT number, this_update AS thisUpdate, next_update AS nextUpdate, entries, sha256 FROM crls ORDER BY number DESC LIMIT 1')
    .get() as CrlRecord | undefined;
}

/** Every recorded CRL, by number. */
export function allCrls(db: Db): CrlRecord[] {
  return db.prepare('SELECT number, this_update AS thisUpdate, next_update AS nextUpdate, entries, sha256 FROM crls ORDER BY number').all() as CrlRecord[];
}

export function hasCrlNumber(db: Db, number: number): boolean {
  return db.prepare('SELECT 1 FROM crls WHERE number = ?').get(number) !== undefined;
}
