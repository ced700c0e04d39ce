/**
 * Signing and writing the CRL. Called inside an IMMEDIATE transaction by
 * `init`, `revoke` and `crl`: the number is taken, the CRL is recorded and
 * crl.pem is renamed into place while this process holds the write lock, so
 * two processes can never publish CRLs out of order (SPEC "Guarantees").
 */
import { createHash, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { crlValidityFor } from '../ca/crl-validity';
import { signatureAlgorithmOf, verifyWithKey } from '../ca/key-types';
import { normalizeSerial } from '../ca/serial';
import { signTbsParts } from '../ca/signing';
import { CrlIncompleteError } from '../errors';
import { encodeTbsCrlParts, type CrlEntry } from '../formats/crl';
import { CrlFormatError, readCrl, revokedSerialsOf } from '../formats/crl-reader';
import { fromPem, toPemBufferParts } from '../formats/pem';
import type { ParsedCertificate } from '../formats/x509';
import { crlNumberBySha256, insertCrl, latestCrl, nextCrlNumber, type CrlRecord } from '../store/crls';
import type { Db } from '../store/database';
import { eachRevocation, isRevocationRecorded } from '../store/revocations';
import { getSetting } from '../store/settings';
import { checkpoint, PUBLIC, writeFileAtomic } from '../host/files';

/**
 * Default CRL validity for an offline CA: 365 days. The proxy reads crl.pem
 * from its own disk, so nextUpdate protects against no replay here; it is only
 * a cliff after which nginx and Apache refuse every client. Revocations reach
 * the proxy when the user copies the new CRL after `revoke`, not when the old
 * one expires, so a long validity costs no security and avoids a yearly outage
 * being a monthly one. `doctor` counts the days down.
 */
export const DEFAULT_CRL_DAYS = 365;

export function crlDaysOf(db: Db): number {
  return Number(getSetting(db, 'crl_days') ?? DEFAULT_CRL_DAYS);
}

export interface PublishedCrl extends CrlRecord {
  /** The CRL's DER as buffers to concatenate in order (a million entries are 40 MB: not copied whole). */
  derParts: readonly Buffer[];
  /** crl.pem as written. */
  pem: Buffer;
}

/**
 * The SHA-256 (lowercase hex) of the DER inside a one-block PEM file, read
 * and decoded 64 KiB at a time (strings that small die young): a CRL of 1,000,000 entries is 50 MB of
 * PEM, and reading it whole cost ~100 MB of memory to learn a number the
 * database already holds (issue 13). Undefined when the file is not one
 * `label` block (the caller then reads it the slow way).
 */
function pemFileDerSha256(path: string, label: string): string | undefined {
  const begin = `-----BEGIN ${label}-----\n`;
  const end = `-----END ${label}-----`;
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(64 * 1024);
  const fd = openSync(path, 'r');
  try {
    let text = '';
    let carry = '';
    let started = false;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      text += chunk.toString('latin1', 0, n);
      if (!started) {
        if (n > 0 && text.length < begin.length) continue;
        if (!text.startsWith(begin)) return undefined;
        text = text.slice(begin.length);
        started = true;
      }
      // Whole lines only until the end of the file, so the footer is never cut in two.
      const cut = n === 0 ? text.length : text.lastIndexOf('\n') + 1;
      let body = text.slice(0, cut);
      text = text.slice(cut);
      // '-' is not base64: it starts the footer.
      const footer = body.indexOf('-');
      if (footer >= 0) {
        const rest = body.slice(footer) + text;
        if (rest !== `${end}\n` && rest !== end) return undefined;
        if (n > 0 && readSync(fd, chunk, 0, 1, null) !== 0) return undefined;
        body = body.slice(0, footer);
      }
      const b64 = carry + body.replaceAll('\n', '');
      if (!/^[A-Za-z0-9+/]*=?=?$/.test(b64)) return undefined;
      const whole = b64.length - (b64.length % 4);
      hash.update(Buffer.from(b64.slice(0, whole), 'base64'));
      carry = b64.slice(whole);
      if (footer >= 0) return carry === '' ? hash.digest('hex') : undefined;
      if (n === 0) return undefined;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The number crl.pem carries, if it is a CRL of this CA. It can be one ahead
 * of the database: the file is renamed into place just before the transaction
 * that records it commits, and a process killed in between leaves it so.
 * A file whose DER is a CRL the database recorded has that CRL's number,
 * without parsing or verifying it again; any other file is read whole.
 */
function numberOnDisk(db: Db, crlPath: string, ca: ParsedCertificate): number {
  if (!existsSync(crlPath)) return 0;
  const sha256 = pemFileDerSha256(crlPath, 'X509 CRL');
  const recorded = sha256 === undefined ? undefined : crlNumberBySha256(db, sha256);
  if (recorded !== undefined) return recorded;
  const der = fromPem(readFileSync(crlPath, 'latin1'), ['X509 CRL']);
  try {
    const crl = der && readCrl(der);
    return crl && crl.number && verifyWithKey(ca.publicKey, crl.tbsDer, crl.signature) ? crl.number : 0;
  } catch (error) {
    // Not a CRL at all: it holds no number to respect.
    if (error instanceof CrlFormatError) return 0;
    throw error;
  }
}

/**
 * Sign the next CRL, record it and rename crl.pem into place (inside the
 * caller's IMMEDIATE transaction). `revoked`: the serials this transaction
 * has just recorded as revoked (revoke, renew's superseding step).
 *
 * Nothing is published that would not list what the record says is revoked
 * (SPEC "The record cannot be bent behind pocketca's back"; a revocation is
 * permanent, RFC 5280 §3.3): each of `revoked` must be in the database when
 * the CRL is made, and the CRL must list at least the certificates the last
 * one did and those; otherwise CrlIncompleteError before anything is written.
 * Once written, crl.pem is read back: it must be the CRL just signed, and
 * list each of `revoked`, else CrlIncompleteError (the caller's transaction
 * then rolls back). The schema check each command makes catches what was
 * planted in the database; these catch what it cannot see (an index whose
 * b-tree no longer holds every row) and what changes while the command runs.
 */
export function signAndWriteCrl(db: Db, crlPath: string, ca: ParsedCertificate, key: KeyObject, now: Date, days: number, revoked: readonly string[] = []): PublishedCrl {
  const unrecorded = revoked.filter((serial) => !isRevocationRecorded(db, serial));
  if (unrecorded.length > 0) throw new CrlIncompleteError(`${serialsNamed(unrecorded)} ${unrecorded.length === 1 ? 'was' : 'were'} gone from the database right after ${unrecorded.length === 1 ? 'it was' : 'they were'} recorded`);
  const previous = latestCrl(db);
  // RFC 5280 §5.2.3: CRL numbers increase; never reissue one a proxy may already have.
  const number = Math.max(nextCrlNumber(db), numberOnDisk(db, crlPath, ca) + 1);
  // Streamed from the store into the encoder, the times as the ISO text they are stored as (issue 6).
  let count = 0;
  const entries = function* (): Generator<CrlEntry> {
    for (const row of eachRevocation(db)) {
      count++;
      yield row as CrlEntry;
    }
  };
  const { thisUpdate, nextUpdate } = crlValidityFor(now, days, new Date(ca.x509.validTo));
  const derParts = signTbsParts(
    key,
    encodeTbsCrlParts({
      issuerDer: ca.subjectDer,
      authorityKeyId: ca.keyId,
      crlNumber: number,
      thisUpdate,
      nextUpdate,
      entries: entries(),
      signatureAlgorithm: signatureAlgorithmOf(key).der,
    }),
  );
  const record: CrlRecord = {
    number,
    thisUpdate: thisUpdate.toISOString(),
    nextUpdate: nextUpdate.toISOString(),
    entries: count,
    sha256: derParts.reduce((hash, part) => hash.update(part), createHash('sha256')).digest('hex'),
  };
  const floor = (previous?.entries ?? 0) + revoked.length;
  if (count < floor) {
    const known = `${previous ? `CRL number ${previous.number} listed ${previous.entries}` : ''}${previous && revoked.length ? ', and ' : ''}${revoked.length ? `${revoked.length} just now` : ''}`;
    throw new CrlIncompleteError(`CRL number ${number} would list ${count} certificate${count === 1 ? '' : 's'} where ${floor} ${floor === 1 ? 'is' : 'are'} revoked (${known}): the database no longer gives back every revocation`);
  }
  insertCrl(db, record);
  checkpoint('crl:recorded');
  const pem = toPemBufferParts('X509 CRL', derParts);
  writeFileAtomic(crlPath, pem, PUBLIC);
  checkpoint('crl:written');
  if (revoked.length > 0) confirmListed(crlPath, record, derParts, revoked);
  return { ...record, derParts, pem };
}

const serialsNamed = (serials: readonly string[]): string => (serials.length === 1 ? `serial ${serials[0]}` : `serials ${serials.join(', ')}`);

/**
 * crl.pem, read back: the CRL just signed (`record`: its DER's SHA-256,
 * streamed from the file), which lists each of `serials`; else
 * CrlIncompleteError. The list is read from the signed DER the file was just
 * shown to hold: a million-entry CRL is not decoded from PEM a second time.
 */
function confirmListed(crlPath: string, record: CrlRecord, derParts: readonly Buffer[], serials: readonly string[]): void {
  if (pemFileDerSha256(crlPath, 'X509 CRL') !== record.sha256) {
    throw new CrlIncompleteError(`${crlPath} is not CRL number ${record.number}, the one just signed`);
  }
  const wanted = new Map(serials.map((s) => [s, Buffer.from(normalizeSerial(s) ?? s, 'hex')]));
  for (const listed of revokedSerialsOf(derParts.length === 1 ? derParts[0]! : Buffer.concat(derParts))) {
    for (const [serial, octets] of wanted) if (listed.equals(octets)) wanted.delete(serial);
    if (wanted.size === 0) return;
  }
  throw new CrlIncompleteError(`CRL number ${record.number} in ${crlPath} does not list ${serialsNamed([...wanted.keys()])}`);
}
