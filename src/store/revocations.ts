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

/** Serials revoked whose certificates were still valid at `since` (ISO): what a proxy must still refuse by itself. */
export function revokedSerialsValidAfter(db: Db, since: string): string[] {
  return db
    .prepare('SELECT r.serial FROM revocations r JOIN certificates c ON c.serial = r.serial WHERE c.not_after > ? ORDER BY r.serial')
    .pluck()
    .all(since) as string[];
}
