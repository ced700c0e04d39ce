import type { Db } from './database';

export type Profile = 'client' | 'server' | 'profile-signer';
export type Source = 'issue' | 'sign' | 'renew' | 'internal';
export type Status = 'valid' | 'revoked' | 'expired';

export interface CertificateRecord {
  serial: string;
  name: string;
  profile: Profile;
  source: Source;
  subject: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  issuedAt: string;
}

export interface CertificateRow extends CertificateRecord {
  revokedAt: string | null;
  reason: string | null;
}

const SELECT = `SELECT c.serial, c.name, c.profile, c.source, c.subject, c.not_before AS notBefore,
  c.not_after AS notAfter, c.fingerprint_sha256 AS fingerprintSha256, c.issued_at AS issuedAt,
  r.revoked_at AS revokedAt, r.reason AS reason
  FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial`;

export function insertCertificate(db: Db, record: CertificateRecord, der: Buffer): void {
  db.prepare(
    `INSERT INTO certificates (serial, name, profile, source, subject, not_before, not_after, fingerprint_sha256, issued_at)
     VALUES (@serial, @name, @profile, @source, @subject, @notBefore, @notAfter, @fingerprintSha256, @issuedAt)`,
  ).run(record);
  db.prepare('INSERT INTO certificate_ders (serial, der) VALUES (?, ?)').run(record.serial, der);
}

export function findBySerial(db: Db, serial: string): CertificateRow | undefined {
  return db.prepare(`${SELECT} WHERE c.serial = ?`).get(serial) as CertificateRow | undefined;
}

export function findByName(db: Db, name: string): CertificateRow[] {
  return db.prepare(`${SELECT} WHERE c.name = ? ORDER BY c.issued_at`).all(name) as CertificateRow[];
}

export function certificateDer(db: Db, serial: string): Buffer | undefined {
  const row = db.prepare('SELECT der FROM certificate_ders WHERE serial = ?').get(serial) as { der: Buffer } | undefined;
  return row?.der;
}

export interface ListFilter {
  /** Which certificates: valid (default), revoked, expired or all. */
  status: Status | 'all';
  /** ISO time that decides "expired". */
  now: string;
  /** Only those whose notAfter is before this ISO time. */
  expiringBefore?: string;
  /** Leave out the CA's own profile-signing certificate; default false. */
  includeInternal?: boolean;
}

export function listCertificates(db: Db, filter: ListFilter): CertificateRow[] {
  const where: string[] = [];
  const params: Record<string, string> = { now: filter.now };
  if (filter.status === 'valid') where.push('r.serial IS NULL AND c.not_after > @now');
  if (filter.status === 'revoked') where.push('r.serial IS NOT NULL');
  if (filter.status === 'expired') where.push('r.serial IS NULL AND c.not_after <= @now');
  if (filter.expiringBefore) {
    where.push('c.not_after <= @expiringBefore');
    params.expiringBefore = filter.expiringBefore;
  }
  if (!filter.includeInternal) where.push("c.source <> 'internal'");
  const sql = `${SELECT}${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY c.issued_at, c.serial`;
  return db.prepare(sql).all(params) as CertificateRow[];
}

export function statusOf(row: CertificateRow, now: string): Status {
  if (row.revokedAt) return 'revoked';
  return row.notAfter <= now ? 'expired' : 'valid';
}
