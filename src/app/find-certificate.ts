import { normalizeSerial } from '../ca/serial';
import { AmbiguousNameError, CertificateNotFoundError } from '../errors';
import { findByName, findBySerial, statusOf, type CertificateRow } from '../store/certificates';
import type { Db } from '../store/database';

/**
 * Resolve SERIAL|NAME. A serial wins when the text is one; a name may match
 * several certificates (reissues), most recent last.
 */
export function findCertificates(db: Db, ref: string): CertificateRow[] {
  const serial = normalizeSerial(ref);
  if (serial) {
    const row = findBySerial(db, serial);
    if (row) return [row];
  }
  const rows = findByName(db, ref);
  if (rows.length === 0) {
    throw new CertificateNotFoundError(`no certificate with serial or name ${JSON.stringify(ref)}`, 'see `pocketca list --all` for serials and names');
  }
  return rows;
}

/** One certificate for `show`: by serial, or the newest with that name. */
export function findOne(db: Db, ref: string): CertificateRow {
  const rows = findCertificates(db, ref);
  return rows[rows.length - 1]!;
}

/** The valid certificates a NAME|SERIAL reference means, for revoke/renew. */
export function findValid(db: Db, ref: string, now: string): CertificateRow[] {
  const rows = findCertificates(db, ref);
  return rows.filter((r) => statusOf(r, now) !== 'revoked');
}

export function ambiguous(ref: string, rows: CertificateRow[], flag: string): AmbiguousNameError {
  const list = rows.map((r) => `${r.serial} (issued ${r.issuedAt.slice(0, 10)}, expires ${r.notAfter.slice(0, 10)})`).join('; ');
  return new AmbiguousNameError(`${JSON.stringify(ref)} matches ${rows.length} valid certificates: ${list}`, `name one by serial, or pass ${flag}`);
}
