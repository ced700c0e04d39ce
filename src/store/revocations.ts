import type { Db } from './database';

export interface RevocationRow {
  serial: string;
  revokedAt: string;
  reason: string;
}

export function insertRevocation(db: Db, row: RevocationRow): void {
  db.prepare('INSERT INTO revocations (serial, revoked_at, reason) VALUES (@serial, @revokedAt, @reason)').run(row);
}

/** Every revocation, for the CRL; certificates long expired stay listed (RFC 5280 §5 allows dropping them; we keep the CRL simple). */
export function allRevocations(db: Db): RevocationRow[] {
  return db.prepare('SELECT serial, revoked_at AS revokedAt, reason FROM revocations ORDER BY revoked_at, serial').raw(false).all() as RevocationRow[];
}
