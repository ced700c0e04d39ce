/**
 * Filling a CA home with many records in-process, through the project's own
 * store code, and writing the same revocations as an OpenSSL `ca` index.txt,
 * so both sides of a comparison hold the same serials and dates.
 *
 * Signing 100,000 real certificates would take minutes; every seeded record
 * carries one real certificate's DER instead (what list and crl read are the
 * columns and the revocations, never that DER), with its own serial and a
 * unique stand-in fingerprint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { generateSerial, serialToHex } from '../src/ca/serial';
import { insertCertificate } from '../src/store/certificates';
import { openDatabase } from '../src/store/database';
import { insertRevocation } from '../src/store/revocations';

const DAY_MS = 86_400_000;

export interface SeededCertificate {
  serial: string;
  name: string;
  notAfter: Date;
  /** Set on revoked ones. */
  revokedAt?: Date;
  reason?: 'unspecified' | 'keyCompromise';
}

export interface SeedParams {
  /** The home's pocketca.db. */
  dbPath: string;
  /** How many certificates to record. */
  count: number;
  /** How many of them (the first ones) are revoked. */
  revoked: number;
  /** A real certificate's DER, stored for every record. */
  der: Buffer;
  /** The time the seed pretends it is. */
  now: Date;
  /** Record names are `${prefix}-000001`...; default 'seed'. */
  prefix?: string;
}

/** Insert the records in one transaction; returns them in insertion order. */
export function seedHome(p: SeedParams): SeededCertificate[] {
  const seeded: SeededCertificate[] = [];
  const db = openDatabase(p.dbPath, { create: false });
  try {
    db.transaction(() => {
      for (let i = 0; i < p.count; i++) {
        const serial = serialToHex(generateSerial(randomBytes));
        const name = `${p.prefix ?? 'seed'}-${String(i + 1).padStart(6, '0')}`;
        // Issued one minute apart, oldest first, all still within their validity.
        const issuedAt = new Date(p.now.getTime() - (p.count - i) * 60_000);
        const notAfter = new Date(issuedAt.getTime() + 365 * DAY_MS);
        insertCertificate(
          db,
          {
            serial,
            name,
            profile: 'client',
            source: 'issue',
            subject: `CN=${name}`,
            notBefore: issuedAt.toISOString(),
            notAfter: notAfter.toISOString(),
            fingerprintSha256: createHash('sha256').update(serial).digest('hex').toUpperCase(),
            issuedAt: issuedAt.toISOString(),
          },
          p.der,
        );
        const record: SeededCertificate = { serial, name, notAfter };
        if (i < p.revoked) {
          record.revokedAt = new Date(issuedAt.getTime() + 30_000);
          // One in eight with a reason, so the CRL carries reasonCode extensions too.
          record.reason = i % 8 === 0 ? 'keyCompromise' : 'unspecified';
          insertRevocation(db, { serial, revokedAt: record.revokedAt.toISOString(), reason: record.reason });
        }
        seeded.push(record);
      }
    })();
  } finally {
    db.close();
  }
  return seeded;
}

/** OpenSSL's index.txt time: UTCTime YYMMDDHHMMSSZ. */
function indexTime(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
}

/**
 * Lines of an OpenSSL `ca` database (index.txt) for these records: `R` for
 * the revoked ones (with the reason when there is one), `V` for the rest.
 * The serials are uppercase hex, as `openssl ca` writes them.
 */
export function opensslIndexLines(records: readonly SeededCertificate[]): string {
  const lines = records.map((r) => {
    const serial = r.serial.toUpperCase();
    if (!r.revokedAt) return `V\t${indexTime(r.notAfter)}\t\t${serial}\tunknown\t/CN=${r.name}`;
    const revoked = r.reason && r.reason !== 'unspecified' ? `${indexTime(r.revokedAt)},${r.reason}` : indexTime(r.revokedAt);
    return `R\t${indexTime(r.notAfter)}\t${revoked}\t${serial}\tunknown\t/CN=${r.name}`;
  });
  return lines.join('\n') + '\n';
}
