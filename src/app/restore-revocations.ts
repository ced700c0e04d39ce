/**
 * What `restore` keeps (SPEC "Backups never roll revocations back"): a
 * revocation is permanent (RFC 5280 §3.3, pocketca uses no certificateHold)
 * and CRL numbers only rise (§5.2.3), so a backup older than the home it
 * replaces, or than the CRL a proxy holds, must not undo either.
 *
 * Two sources, read before anything is written:
 * - the replaced home, when it is the same CA: its database (revocations with
 *   their certificate records and log lines, the CRLs it signed) and its
 *   crl.pem (which may be one ahead of its database, or all there is left
 *   when the database cannot be read);
 * - each `--deployed-crl FILE`: a CRL this CA signed (verified with the
 *   backup's CA certificate), e.g. the proxy's copy, whose serials may be
 *   ones the backup never knew (issued after it).
 * They are merged into the backup's database before it becomes the home's.
 */
import { readFileSync } from 'node:fs';
import { CrlOfAnotherCaError, UnreadableInputError } from '../errors';
import { asRecordedReason, reasonOfCode, sha256Hex, type RevocationReason } from '../formats/crl';
import { CrlFormatError, readCrl, revokedEntries, type ReadCrl } from '../formats/crl-reader';
import type { ParsedCertificate } from '../formats/x509';
import { certificateDer, findBySerial, insertCertificate, type CertificateRecord, type Profile, type Source } from '../store/certificates';
import { allCrls, hasCrlNumber, insertCrl, type CrlRecord } from '../store/crls';
import { openDatabase, type Db } from '../store/database';
import { listEvents, recordEvent, type EventRecord } from '../store/events';
import { allRevocations, findRevocation, insertRevocation } from '../store/revocations';
import { getSetting } from '../store/settings';
import { readFileBounded } from '../host/files';
import type { CaHome } from '../host/home';
import { MAX_HOME_FILE_BYTES } from '../host/limits';
import { signedByCa } from './crl-status';
import { crlsInFile } from './intermediate-crls';

/** A revocation a source knows. */
export interface KnownRevocation {
  serial: string;
  /** ISO-8601 UTC. */
  revokedAt: string;
  reason: RevocationReason;
  /** The certificate's record and DER in the source, when it has them (the replaced home's database). */
  certificate?: { record: CertificateRecord; der: Buffer };
}

/** One place revocations are kept from. */
export interface RevocationSource {
  /** For messages and the log: 'the replaced home', or the --deployed-crl path. */
  from: string;
  revocations: KnownRevocation[];
  /** CRLs this source shows the CA signed: their numbers are never used again. */
  crls: CrlRecord[];
  /** The source's log lines about its revocations (the replaced home's `revoke` events), copied with them. */
  events: EventRecord[];
}

/** A revocation the restored home has and the backup did not. */
export interface KeptRevocation {
  serial: string;
  /** The certificate's record name; null for a serial no record names (a deployed CRL's serial issued after the backup). */
  name: string | null;
  reason: RevocationReason;
  revokedAt: string;
  /** Where it was kept from: 'the replaced home' or a --deployed-crl path. */
  from: string;
}

/** A --deployed-crl as read. */
export interface DeployedCrl {
  path: string;
  number: number | null;
  thisUpdate: string;
  entries: number;
}

export const REPLACED_HOME = 'the replaced home';

const HEX_SERIAL = /^[0-9a-f]{1,42}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const PROFILES: readonly Profile[] = ['client', 'server', 'profile-signer', 'intermediate'];
const SOURCES: readonly Source[] = ['issue', 'sign', 'renew', 'internal', 'scep'];
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error)).replace(/[^\x20-\x7e]/g, '?').slice(0, 200);

/** A CRL entry as a revocation; certificateHold and codes pocketca never writes are refused. */
function revocationOf(entry: { serial: string; revokedAt: Date; reasonCode?: number; unknownCritical: string[] }, where: string): KnownRevocation {
  const reason = entry.reasonCode === undefined ? 'unspecified' : reasonOfCode(entry.reasonCode);
  if (!reason) {
    throw new CrlOfAnotherCaError(
      `${where} lists ${entry.serial} with reason code ${entry.reasonCode}${entry.reasonCode === 6 ? ' (certificateHold)' : ''}, which pocketca never writes: it is not a CRL pocketca made`,
      'give the CRL `pocketca crl` or `revoke` wrote (crl.pem, or the proxy\'s copy of it)',
    );
  }
  if (entry.unknownCritical.length > 0) {
    throw new CrlOfAnotherCaError(`${where} lists ${entry.serial} with a critical extension pocketca does not know (${entry.unknownCritical.join(', ')})`, 'give the CRL `pocketca crl` or `revoke` wrote');
  }
  return { serial: entry.serial, revokedAt: entry.revokedAt.toISOString(), reason };
}

/** The source a CRL of this CA (already verified) makes. */
function crlSource(der: Buffer, crl: ReadCrl, from: string): RevocationSource {
  const revocations: KnownRevocation[] = [];
  for (const entry of revokedEntries(der)) revocations.push(revocationOf(entry, from));
  const crls: CrlRecord[] =
    crl.number === undefined
      ? []
      : [{ number: crl.number, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: (crl.nextUpdate ?? crl.thisUpdate).toISOString(), entries: crl.entries, sha256: sha256Hex(der) }];
  return { from, revocations, crls, events: [] };
}

/**
 * `restore --deployed-crl FILE`: the CRLs of this CA in FILE (PEM or DER; the
 * proxy's copy holds the root's CRL first and the intermediates' after it,
 * which are left out). A file with none of this CA's is CrlOfAnotherCaError
 * (exit 1); one that is not a CRL, exit 2. Nothing is written.
 */
export function readDeployedCrl(path: string, ca: ParsedCertificate): { source: RevocationSource; crl: DeployedCrl; others: number } {
  const where = `--deployed-crl ${path}`;
  const bytes = readFileBounded(path, { max: MAX_HOME_FILE_BYTES, what: '--deployed-crl', expected: 'that is not a CRL' });
  const ders = crlsInFile(bytes);
  if (ders.length === 0) throw new UnreadableInputError(`${where} holds no CRL (PEM or DER)`, "give the proxy's copy of crl.pem, e.g. /etc/pocketca/crl.pem");
  const ours: { der: Buffer; crl: ReadCrl }[] = [];
  for (const der of ders) {
    let crl: ReadCrl;
    try {
      crl = readCrl(der);
    } catch (error) {
      if (error instanceof CrlFormatError) throw new UnreadableInputError(`${where}: ${error.message}`);
      throw error;
    }
    // The issuer's name too: a CRL is this CA's when its key signed it for its name (§6.3.3 (b), (f)).
    if (crl.issuerDer.equals(ca.subjectDer) && signedByCa(crl, ca)) ours.push({ der, crl });
  }
  if (ours.length === 0) {
    throw new CrlOfAnotherCaError(`${where} is not a CRL of the backup's CA: its signature does not verify with that CA's certificate`, "give this CA's CRL as the proxy holds it; nothing was written");
  }
  // Several of this CA's in one file (an odd concatenation): each is read; the newest names the file.
  const sources = ours.map(({ der, crl }) => {
    try {
      return crlSource(der, crl, path);
    } catch (error) {
      if (error instanceof CrlFormatError) throw new UnreadableInputError(`${where}: ${error.message}`);
      throw error;
    }
  });
  const newest = ours.reduce((a, b) => ((b.crl.number ?? 0) > (a.crl.number ?? 0) ? b : a)).crl;
  const source: RevocationSource = { from: path, revocations: sources.flatMap((s) => s.revocations), crls: sources.flatMap((s) => s.crls), events: [] };
  return {
    source,
    crl: { path, number: newest.number ?? null, thisUpdate: newest.thisUpdate.toISOString(), entries: new Set(source.revocations.map((r) => r.serial)).size },
    others: ders.length - ours.length,
  };
}

/** A row from the replaced home's database as a certificate record, when every field is what pocketca writes. */
function certificateOf(db: Db, serial: string): KnownRevocation['certificate'] {
  const row = findBySerial(db, serial);
  const der = row && certificateDer(db, serial);
  if (!row || !der || !Buffer.isBuffer(der)) return undefined;
  const { revokedAt: _r, reason: _reason, ...record } = row;
  const text = [record.name, record.subject, record.notBefore, record.notAfter, record.fingerprintSha256, record.issuedAt];
  if (text.some((v) => typeof v !== 'string') || !PROFILES.includes(record.profile) || !SOURCES.includes(record.source)) return undefined;
  return { record, der };
}

/** The replaced home's database as a source: every revocation, the certificates and log lines about them, the CRLs it signed. */
function databaseSource(db: Db, now: Date): RevocationSource {
  const revocations: KnownRevocation[] = [];
  const serials = new Set<string>();
  for (const row of allRevocations(db)) {
    if (typeof row.serial !== 'string' || !HEX_SERIAL.test(row.serial)) continue;
    // Kept whatever else is odd about it: a revocation is worth more than its details.
    const reason = asRecordedReason(row.reason) ?? 'unspecified';
    const revokedAt = typeof row.revokedAt === 'string' && ISO_UTC.test(row.revokedAt) ? row.revokedAt : now.toISOString();
    revocations.push({ serial: row.serial, revokedAt, reason, certificate: certificateOf(db, row.serial) });
    serials.add(row.serial);
  }
  const events = listEvents(db).filter((e) => typeof e.serial === 'string' && serials.has(e.serial) && typeof e.at === 'string' && typeof e.command === 'string');
  const crls = allCrls(db).filter((c) => Number.isSafeInteger(c.number) && c.number > 0);
  return {
    from: REPLACED_HOME,
    revocations,
    crls,
    events: events.map(({ id: _id, ...e }) => ({ ...e, outcome: (['ok', 'refused', 'failed'] as const).includes(e.outcome) ? e.outcome : 'ok' })),
  };
}

/** What the home being replaced is, as far as can be told without its key. */
export interface ReplacedHome {
  /** True: the backup's CA; false: another; undefined: cannot be told (no readable ca.pem nor database). */
  sameCa: boolean | undefined;
  /** Its CA's subject, when ca.pem can be read. */
  subject?: string;
  fingerprintSha256?: string;
}

/** Which CA the home holds: its ca.pem, or the fingerprint its database records. */
export function describeReplacedHome(home: CaHome, ca: ParsedCertificate): ReplacedHome {
  try {
    const own = home.caCertificate();
    return { sameCa: own.fingerprintSha256 === ca.fingerprintSha256, subject: own.x509.subject.split('\n').join(', '), fingerprintSha256: own.fingerprintSha256 };
  } catch {
    /* no readable ca.pem: ask the database */
  }
  let db: Db | undefined;
  try {
    db = openDatabase(home.dbPath, { create: false, readonly: true, trustedSchema: false, migrate: false });
    const fingerprint = getSetting(db, 'ca_fingerprint_sha256');
    return fingerprint === undefined ? { sameCa: undefined } : { sameCa: fingerprint === ca.fingerprintSha256, fingerprintSha256: fingerprint };
  } catch {
    return { sameCa: undefined };
  } finally {
    db?.close();
  }
}

/**
 * The replaced home's revocations (same CA only): its database, then its
 * crl.pem. What cannot be read is a warning, not a refusal: the home is being
 * replaced because something is wrong with it, and what can be read is kept.
 * The database is checkpointed as it is read, so that removing its WAL
 * before the restored database takes its place loses nothing if restore
 * stops in between.
 */
export function readReplacedHome(home: CaHome, ca: ParsedCertificate, now: Date, warn: (message: string) => void): RevocationSource[] {
  const sources: RevocationSource[] = [];
  let db: Db | undefined;
  try {
    db = openDatabase(home.dbPath, { create: false, trustedSchema: false, migrate: false });
    sources.push(databaseSource(db, now));
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    warn(`the replaced home's database ${home.dbPath} cannot be read (${describe(error)}): only the revocations its crl.pem lists are kept`);
  } finally {
    db?.close();
  }
  try {
    const der = crlsInFile(readFileSync(home.crlPath))[0];
    const crl = der && readCrl(der);
    if (der && crl && crl.issuerDer.equals(ca.subjectDer) && signedByCa(crl, ca)) sources.push(crlSource(der, crl, REPLACED_HOME));
    else if (sources.length === 0) warn(`the replaced home's ${home.crlPath} is not a CRL of this CA: nothing of the replaced home is kept`);
  } catch (error) {
    if (sources.length === 0) warn(`the replaced home's ${home.crlPath} cannot be read (${describe(error)}): nothing of the replaced home is kept`);
  }
  return sources;
}

/**
 * Merge the sources into `db` (the backup's database, migrated; the caller
 * holds a transaction): each revocation it lacks is recorded with its reason
 * and date (the certificate's record too when the source has it and `db` does
 * not), the source's log lines about it are copied, and the CRL numbers the
 * sources used are recorded so that the next CRL is above all of them.
 * A serial `db` already knows as revoked keeps its own record.
 */
export function mergeRevocations(db: Db, sources: readonly RevocationSource[]): { kept: KeptRevocation[]; crlsAdded: number } {
  const kept: KeptRevocation[] = [];
  let crlsAdded = 0;
  for (const source of sources) {
    const keptHere = new Set<string>();
    for (const r of source.revocations) {
      if (findRevocation(db, r.serial)) continue;
      let row = findBySerial(db, r.serial);
      if (!row && r.certificate) {
        try {
          insertCertificate(db, r.certificate.record, r.certificate.der);
          row = findBySerial(db, r.serial);
        } catch {
          /* a record that does not fit (a fingerprint already recorded under another serial): the revocation alone is kept */
        }
      }
      insertRevocation(db, { serial: r.serial, revokedAt: r.revokedAt, reason: r.reason });
      keptHere.add(r.serial);
      kept.push({ serial: r.serial, name: row?.name ?? null, reason: r.reason, revokedAt: r.revokedAt, from: source.from });
    }
    if (keptHere.size > 0 && source.events.length > 0) {
      const key = (e: EventRecord) => JSON.stringify([e.at, e.command, e.outcome, e.serial ?? null, e.detail ?? null]);
      const present = new Set(listEvents(db).filter((e) => e.serial !== null && keptHere.has(e.serial)).map(key));
      for (const e of source.events) if (e.serial && keptHere.has(e.serial) && !present.has(key(e))) recordEvent(db, e);
    }
    for (const crl of source.crls) {
      if (hasCrlNumber(db, crl.number)) continue;
      insertCrl(db, crl);
      crlsAdded++;
    }
  }
  return { kept, crlsAdded };
}
