/**
 * Filling a CA home with many records, and writing the same records as an
 * OpenSSL `ca` index.txt, so both sides of a comparison hold the same
 * serials, dates and reasons.
 *
 * Signing a million real certificates would take hours; every seeded record
 * carries one real certificate's DER instead (what list and crl read are the
 * columns and the revocations, never that DER), with its own serial and a
 * unique stand-in fingerprint. The rows are made by SQLite itself, one
 * INSERT ... SELECT over a counter per table in one transaction, into the
 * tables the migrations created (opened through the project's store, so the
 * schema and its CHECKs are the real ones): a million records take seconds,
 * where a prepared statement per row from JavaScript took minutes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { openDatabase } from '../src/store/database';

const DAY_MS = 86_400_000;

export interface SeedParams {
  /** The home's pocketca.db. */
  dbPath: string;
  /** How many certificates to record. */
  count: number;
  /** How many of them (the first ones) are revoked. */
  revoked: number;
  /**
   * A real certificate's DER, stored for every record; an empty one for the
   * million-record home, where the DER (a gigabyte, never read by list or crl)
   * only made seeding slow.
   */
  der: Buffer;
  /** The time the seed pretends it is. */
  now: Date;
  /** Record names are `${prefix}-0000001`...; default 'seed'. */
  prefix?: string;
}

/**
 * Insert the records in one transaction, oldest first. Serials are 16 random
 * octets with the top bits as src/ca/serial.ts makes them (first hex digit
 * 4-7); certificates are issued evenly over the last 300 days at most (one
 * minute apart when that fits), each valid for 365 days, so none has expired;
 * a revoked one was revoked 30 s after issue, one in eight with the reason
 * keyCompromise so the CRL carries reasonCode extensions too.
 */
export function seedHome(p: SeedParams): void {
  const db = openDatabase(p.dbPath, { create: false });
  try {
    // The seed need not survive a power cut: no journal while it runs (a gigabyte through the WAL
    // was written twice), and a large cache keeps the indexes in memory. WAL again afterwards.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const stepS = Math.min(60, (300 * DAY_MS) / 1000 / p.count);
    const params = { count: p.count, revoked: p.revoked, nowS: p.now.getTime() / 1000, stepS, prefix: p.prefix ?? 'seed', der: p.der, validS: (365 * DAY_MS) / 1000 };
    const iso = (seconds: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${seconds}, 'unixepoch')`;
    // Secondary indexes are dropped and made again afterwards from their own SQL, byte for byte:
    // sorting once is faster than a million inserts at random places (the schema stays as migrated).
    const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('certificates', 'revocations')").all() as { name: string; sql: string }[];
    db.transaction(() => {
      for (const index of indexes) db.exec(`DROP INDEX "${index.name}"`);
      db.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count),
           s(i, serial, issued) AS (
             SELECT i, substr('4567', (random() & 3) + 1, 1) || substr(lower(hex(randomblob(16))), 2),
                    @nowS - (@count - i + 1) * @stepS FROM n)
         INSERT INTO certificates (serial, name, profile, source, subject, not_before, not_after, fingerprint_sha256, issued_at)
         SELECT serial, @prefix || '-' || printf('%07d', i), 'client', 'issue', 'CN=' || @prefix || '-' || printf('%07d', i),
                ${iso('issued')}, ${iso('issued + @validS')}, upper(hex(randomblob(32))), ${iso('issued')}
         FROM s ORDER BY i`,
      ).run(params);
      db.prepare('INSERT INTO certificate_ders (serial, der) SELECT serial, @der FROM certificates ORDER BY rowid').run({ der: params.der });
      db.prepare(
        `INSERT INTO revocations (serial, revoked_at, reason)
         SELECT serial, ${iso("unixepoch(issued_at, 'subsec') + 30")}, CASE WHEN rowid % 8 = 1 THEN 'keyCompromise' ELSE 'unspecified' END
         FROM certificates ORDER BY rowid LIMIT @revoked`,
      ).run({ revoked: params.revoked });
      for (const index of indexes) db.exec(index.sql);
    })();
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

/** `count` seeded serials in insertion order, from the `from`-th (0-based). */
export function seededSerials(dbPath: string, from: number, count: number): string[] {
  const db = openDatabase(dbPath, { create: false });
  try {
    return db.prepare('SELECT serial FROM certificates ORDER BY rowid LIMIT ? OFFSET ?').pluck().all(count, from) as string[];
  } finally {
    db.close();
  }
}

/** OpenSSL's index.txt time, UTCTime YYMMDDHHMMSSZ, from a stored ISO time. */
const indexTime = (iso: string): string => iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';

/**
 * Append the first `limit` seeded records (default all) to an OpenSSL `ca`
 * database (index.txt) at `indexPath`, streamed: `R` for the revoked ones
 * (with the reason when there is one), `V` for the rest. Serials are
 * uppercase hex, as `openssl ca` writes them. Returns the lines written.
 */
export function appendOpensslIndex(dbPath: string, indexPath: string, limit = -1): number {
  const db = openDatabase(dbPath, { create: false });
  const fd = openSync(indexPath, 'a');
  let lines = 0;
  try {
    const rows = db
      .prepare(
        `SELECT upper(c.serial), c.not_after, c.name, r.revoked_at, r.reason
         FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial ORDER BY c.rowid LIMIT ?`,
      )
      .raw(true)
      .iterate(limit) as IterableIterator<[string, string, string, string | null, string | null]>;
    let chunk = '';
    for (const [serial, notAfter, name, revokedAt, reason] of rows) {
      const revoked = revokedAt === null ? '' : reason && reason !== 'unspecified' ? `${indexTime(revokedAt)},${reason}` : indexTime(revokedAt);
      chunk += `${revokedAt === null ? 'V' : 'R'}\t${indexTime(notAfter)}\t${revoked}\t${serial}\tunknown\t/CN=${name}\n`;
      lines++;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
    db.close();
  }
  return lines;
}
