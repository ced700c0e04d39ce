import { prepared, type Db } from './database';

export interface RevocationRow {
  serial: string;
  revokedAt: string;
  reason: string;
}

export function insertRevocation(db: Db, row: RevocationRow): void {
  prepared(db, 'INSERT INTO revocations (serial, revoked_at, reason) VALUES (@serial, @revokedAt, @reason)').run(row);
}

/** Whether `serial` has a row in revocations (read back after it was recorded: SPEC "The record cannot be bent"). */
export function isRevocationRecorded(db: Db, serial: string): boolean {
  return db.prepare('SELECT 1 FROM revocations WHERE serial = ?').get(serial) !== undefined;
}

const ALL_REVOCATIONS = 'SELECT serial, revoked_at AS revokedAt, reason FROM revocations ORDER BY revoked_at, serial';

/** Every revocation, for the CRL; certificates long expired stay listed (RFC 5280 §5 allows dropping them; we keep the CRL simple). */
export function allRevocations(db: Db): RevocationRow[] {
  return db.prepare(ALL_REVOCATIONS).raw(false).all() as RevocationRow[];
}

/**
 * allRevocations one row at a time, for the CRL. 100,000 rows held at once
 * cost a quarter of a second in memory the process must first touch, and in
 * the collector moving them; rows read one at a time die young (issue 6).
 */
export function* eachRevocation(db: Db): Generator<RevocationRow> {
  for (const [serial, revokedAt, reason] of db.prepare(ALL_REVOCATIONS).raw(true).iterate() as IterableIterator<string[]>) {
    yield { serial: serial!, revokedAt: revokedAt!, reason: reason! };
  }
}


export function findRevocation(db: Db, serial: string): RevocationRow | undefined {
  return prepared(db, 'SELECT serial, revoked_at AS revokedAt, reason FROM revocations WHERE serial = ?').get(serial) as RevocationRow | undefined;
}

/**
 * Revocations with no certificate row: serials a deployed CRL listed that
 * the restored backup never knew (`restore --deployed-crl`, migration 005).
 * They are on every CRL (eachRevocation reads them all) and `list` shows
 * them after the certificates. Few: no index walk to care about.
 */
export function revocationsWithoutCertificate(db: Db): RevocationRow[] {
  return db
    .prepare('SELECT r.serial, r.revoked_at AS revokedAt, r.reason FROM revocations r WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.serial = r.serial) ORDER BY r.revoked_at, r.serial')
    .all() as RevocationRow[];
}
