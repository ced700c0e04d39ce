import { basename } from 'node:path';
import { MIN_SERIAL_PREFIX, normalizeSerial, serialDigits } from '../ca/serial';
import { AmbiguousNameError, AmbiguousSerialError, CertificateAlreadyRevokedError, CertificateNotFoundError, ValidCertificateExistsError } from '../errors';
import { findByName, findBySerial, findBySerialPrefix, recordedNames, statusOf, type CertificateRow } from '../store/certificates';
import type { Db } from '../store/database';
import { findRevocation } from '../store/revocations';

/** How many certificates an ambiguous serial prefix lists. */
const AMBIGUOUS_SHOWN = 10;

/** The files `issue` and `renew` write for NAME: a NAME typed as one of them (`show carol-iphone.p12`) meant NAME. */
const FILE_SUFFIXES = ['.fullchain.pem', '.key.pem', '.mobileconfig', '.p12', '.pfx', '.pem', '.crt', '.cer'];

/**
 * Resolve SERIAL|NAME. A whole serial wins when the text is one; then a name
 * (which may match several certificates, reissues, most recent last); then a
 * serial prefix of at least MIN_SERIAL_PREFIX hex digits that only one
 * certificate has. An ambiguous prefix is exit 2, listing the certificates.
 */
export function findCertificates(db: Db, ref: string): CertificateRow[] {
  const serial = normalizeSerial(ref);
  if (serial) {
    const row = findBySerial(db, serial);
    if (row) return [row];
  }
  const rows = findByName(db, ref);
  if (rows.length > 0) return rows;
  const digits = serialDigits(ref);
  if (digits !== undefined && digits.length >= MIN_SERIAL_PREFIX) {
    const matches = findBySerialPrefix(db, digits, AMBIGUOUS_SHOWN + 1);
    if (matches.length === 1) return matches;
    if (matches.length > 1) {
      const shown = matches.slice(0, AMBIGUOUS_SHOWN).map((r) => `${r.serial} (${r.name}, expires ${r.notAfter.slice(0, 10)})`);
      throw new AmbiguousSerialError(
        `${JSON.stringify(ref)} is the start of ${matches.length > AMBIGUOUS_SHOWN ? `more than ${AMBIGUOUS_SHOWN}` : matches.length} serials: ${shown.join('; ')}`,
        'type more digits of the serial (`pocketca list --all --wide` shows them whole)',
      );
    }
  }
  // A serial revoked on a CRL that restore kept, issued after the backup: revoked, with nothing else known.
  const revoked = serial === undefined ? undefined : findRevocation(db, serial);
  if (revoked) {
    throw new CertificateAlreadyRevokedError(
      `serial ${serial} is already revoked (${revoked.revokedAt}, ${revoked.reason}); no certificate of it is recorded here`,
      `nothing changed; \`pocketca show ${serial}\` shows the revocation`,
    );
  }
  throw notFound(db, ref, digits);
}

function notFound(db: Db, ref: string, digits: string | undefined): CertificateNotFoundError {
  const message = `no certificate with serial or name ${JSON.stringify(ref)}`;
  // `show carol-iphone.p12`: a file of a recorded name.
  const file = basename(ref);
  const suffix = FILE_SUFFIXES.find((s) => file.toLowerCase().endsWith(s) && file.length > s.length);
  if (suffix) {
    const name = file.slice(0, -suffix.length);
    if (findByName(db, name).length > 0) return new CertificateNotFoundError(message, `did you mean ${name}? (${file} is one of its files; pocketca takes the name)`);
  }
  const near = closestName(suffix ? file.slice(0, -suffix.length) : ref, recordedNames(db));
  if (near !== undefined) return new CertificateNotFoundError(message, `did you mean ${near}? (\`pocketca list --all\` shows every name)`);
  if (digits !== undefined && digits.length < MIN_SERIAL_PREFIX) {
    return new CertificateNotFoundError(message, `a serial needs at least ${MIN_SERIAL_PREFIX} of its hex digits here; \`pocketca list --all\` shows serials and names`);
  }
  return new CertificateNotFoundError(message, 'see `pocketca list --all` for serials and names');
}

/**
 * Levenshtein distance of `a` and `b` if it is at most `max`, else max + 1,
 * one row at a time, stopping as soon as a row has nothing within `max`.
 */
function boundedDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]!);
    }
    if (best > max) return max + 1;
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * The recorded name a mistyped one most likely meant: the nearest by edit
 * distance (case ignored), within 1 edit for names up to 4 characters, 2 up
 * to 8, else 3; a tie goes to the name that sorts first. Undefined when none is that close.
 */
export function closestName(typed: string, names: Iterable<string>): string | undefined {
  const word = typed.toLowerCase();
  let max = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  let best: string | undefined;
  for (const name of names) {
    const d = boundedDistance(word, name.toLowerCase(), max);
    if (d <= max) {
      best = name;
      // Only a nearer one replaces it from now on.
      max = d - 1;
      if (max < 0) break;
    }
  }
  return best;
}

/**
 * `issue NAME` when NAME already has a valid certificate: a second one is
 * almost always a mistake (the old phone keeps working, and `revoke NAME`
 * then matches two). `renew` is what replaces it: it may record its new
 * certificate while the ones it replaces (`besides`) are still valid.
 *
 * The one place of the rule "one valid certificate per NAME". Commands call
 * it early, so the common case fails before any passphrase or key work, and
 * recordCertificate calls it again inside the recording transaction (BEGIN
 * IMMEDIATE), which is what makes it hold when two runs race for one name
 * (SPEC "Two processes at once").
 */
export function refuseSecondCertificate(db: Db, name: string, now: string, besides: readonly string[] = []): void {
  const valid = findByName(db, name).filter((r) => statusOf(r, now) === 'valid' && !besides.includes(r.serial));
  if (valid.length === 0) return;
  const newest = valid[valid.length - 1]!;
  throw new ValidCertificateExistsError(
    `${name} already has a valid certificate: ${newest.serial}, expires ${newest.notAfter.slice(0, 10)}${valid.length > 1 ? ` (and ${valid.length - 1} more)` : ''}; nothing was issued`,
    newest.source === 'scep'
      ? `its key is on the device: pocketca scep ${name} renews it there and revokes the old one; --force issues another alongside it`
      : `pocketca renew ${name} makes its new certificate and revokes the old one; --force issues another alongside it`,
  );
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
