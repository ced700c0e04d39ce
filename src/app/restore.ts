/**
 * `pocketca restore FILE`: a home from a backup. Everything is checked before
 * anything is written, in this order:
 *
 * 1. the layout, the manifest (member names from the exact list, each once,
 *    sizes that add up to the file) and every member's SHA-256;
 * 2. the manifest's signature, with the CA certificate inside the backup
 *    (a first-release backup has none: refused unless `allowUnsigned`);
 * 3. then that CA's subject and fingerprint are announced, so the person can
 *    compare them with the ones they know: a backup of another CA, consistent
 *    in itself, verifies, and only that comparison tells it apart;
 * 4. the key opens with the passphrase and matches the certificate;
 * 5. the database, opened with trusted_schema off and not migrated: its schema
 *    is exactly what the migrations create at its version (a planted trigger
 *    is refused, issue 9), it passes integrity_check, belongs to this CA and
 *    records this crl.pem as its latest CRL.
 *
 * An existing CA is replaced only with --force. The database is renamed into
 * place last, after its `restore` event is recorded: a home has a database
 * only once all its files are there.
 */
import { readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BackupSignatureError, CaAlreadyExistsError, CaFileDamagedError, InvalidBackupError, PocketcaError, UnsignedBackupError } from '../errors';
import { decodeBackup, verifyManifestSignature } from '../formats/backup-archive';
import { sha256Hex } from '../formats/crl';
import { fromPem } from '../formats/pem';
import { parseCertificate, type ParsedCertificate } from '../formats/x509';
import { migrate, openDatabase } from '../store/database';
import { recordEvent } from '../store/events';
import { describeDatabase, schemaDifferences, type DatabaseFacts } from '../store/snapshot';
import { HOME_FILES } from './backup';
import type { AppContext } from '../host/context';
import { checkpoint, PRIVATE, tempPathFor, writeFileAtomic } from '../host/files';
import { prepareHomeDirectory, unlockCaKeyPem } from '../host/home';
import { unlockWithRetries } from '../host/unlock';

export interface RestoreParams {
  /** The backup file's bytes. */
  backup: Buffer;
  /** Where it came from, for messages and the audit log. */
  source: string;
  /** Replace an existing CA in the home; default false. */
  force: boolean;
  /**
   * Accept a first-release (unsigned) backup; default false. Every other
   * check still runs, and a warning says what is not proven.
   */
  allowUnsigned: boolean;
  /**
   * Told the backup's CA once its signature verifies, before the passphrase
   * is asked and before anything is written: the command prints it.
   */
  announce: (ca: BackupCa) => void;
}

/** The CA a backup holds, as its certificate says. */
export interface BackupCa {
  subject: string;
  fingerprintSha256: string;
  /** False for an unsigned (first-release) backup accepted with allowUnsigned. */
  signed: boolean;
}

export interface RestoreResult {
  home: string;
  backupCreatedAt: string;
  caSubject: string;
  caFingerprintSha256: string;
  /** False for an unsigned backup restored with allowUnsigned. */
  signed: boolean;
  certificates: number;
  revocations: number;
  crlNumber: number;
}

/** Text from the backup (or SQLite's words about it) as one printable line. */
const oneLine = (text: string, max = 200): string => text.replace(/[^\x20-\x7e]/g, '?').slice(0, max);

const invalid = (what: string) => new InvalidBackupError(`not a usable pocketca backup: ${what}`, 'use another backup; this one cannot make a working home');

function caCertificateOf(members: Map<string, Buffer>): ParsedCertificate {
  const der = fromPem(members.get('ca.pem')!.toString('latin1'), ['CERTIFICATE']);
  try {
    if (der) return parseCertificate(der);
  } catch {
    /* reported below */
  }
  throw invalid('its ca.pem holds no certificate');
}

/** Check the snapshot in `path` (then migrate an older schema forward) and record the restore in it. */
function checkDatabase(path: string, ca: ParsedCertificate, crlPem: Buffer, event: { at: string; detail: string }): DatabaseFacts {
  let db;
  try {
    db = openDatabase(path, { create: false, trustedSchema: false, migrate: false });
  } catch {
    // (SQLite's words name the temporary file, which means nothing to the user.)
    throw invalid('its pocketca.db cannot be opened: it is not an SQLite database, or it is damaged');
  }
  try {
    let differences: string[];
    try {
      differences = schemaDifferences(db);
    } catch (error) {
      if (error instanceof PocketcaError) throw error;
      throw invalid(`its database schema cannot be read (${oneLine((error as Error).message)})`);
    }
    if (differences.length > 0) {
      throw invalid(`its database schema is not the one pocketca creates: ${differences.slice(0, 5).join(', ')}${differences.length > 5 ? ', ...' : ''}`);
    }
    // Only now, with a schema known to be pocketca's own, is anything else read or written.
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    if (integrity !== 'ok') throw invalid(`its database fails the integrity check (${oneLine(integrity)})`);
    migrate(db);
    const facts = describeDatabase(db);
    if (facts.caFingerprintSha256 !== ca.fingerprintSha256) throw invalid('its database belongs to another CA than its ca.pem');
    const crlDer = fromPem(crlPem.toString('latin1'), ['X509 CRL']);
    if (!facts.latestCrl || !crlDer || sha256Hex(crlDer) !== facts.latestCrl.sha256) throw invalid('its crl.pem is not the latest CRL its database records');
    recordEvent(db, { at: event.at, command: 'restore', outcome: 'ok', detail: event.detail });
    return facts;
  } finally {
    db.close();
  }
}

export async function restoreHome(ctx: AppContext, p: RestoreParams): Promise<RestoreResult> {
  const { manifest, members, signed } = decodeBackup(
    p.backup,
    HOME_FILES.map((f) => f.name),
  );
  for (const f of HOME_FILES) if (f.required && !members.has(f.name)) throw invalid(`it has no ${f.name}`);
  const ca = caCertificateOf(members);
  if (signed) {
    if (!verifyManifestSignature(signed, ca.publicKey)) {
      throw new BackupSignatureError(
        'the backup\'s signature does not verify with the CA certificate inside it: it was changed after `pocketca backup` wrote it',
        'use another backup; do not restore this one',
      );
    }
  } else if (!p.allowUnsigned) {
    throw new UnsignedBackupError(
      `the backup is not signed (format version ${manifest.version}, written by pocketca ${oneLine(String(manifest.pocketcaVersion), 20)}): nothing proves who wrote it`,
      'make a new backup of the original home with this pocketca; if this is the only copy, pass --allow-unsigned',
    );
  } else {
    ctx.warn('this backup is not signed: its records (certificates, revocations) may have been changed by whoever had the file; its schema, key and CRL are still checked');
  }
  if (ca.fingerprintSha256 !== manifest.ca.fingerprintSha256) throw invalid('its ca.pem is not the CA its manifest names');
  const subject = ca.x509.subject.split('\n').join(', ');
  p.announce({ subject, fingerprintSha256: ca.fingerprintSha256, signed: signed !== undefined });

  const home = ctx.home;
  if (home.hasAnyCaFile() && !p.force) {
    throw new CaAlreadyExistsError(`a CA already exists in ${home.dir}`, 'restore into an empty --home, or pass --force to replace it (its records are then lost)');
  }
  const madeDir = prepareHomeDirectory(home.dir);
  const dbTemp = tempPathFor(home.dbPath);
  let restored = false;
  try {
    writeFileAtomic(dbTemp, members.get('pocketca.db')!, PRIVATE);
    const facts = checkDatabase(dbTemp, ca, members.get('crl.pem')!, {
      at: ctx.now().toISOString(),
      detail: `from ${p.source}, a backup made ${manifest.createdAt}`,
    });
    // The passphrase last: every check that needs no key has passed (a damaged database is told as itself).
    try {
      const keyPem = members.get('ca.key.pem')!;
      await unlockWithRetries(ctx, (passphrase) => unlockCaKeyPem(keyPem, passphrase, ca, "the backup's ca.key.pem"));
    } catch (error) {
      if (error instanceof CaFileDamagedError) throw invalid(error.message);
      throw error;
    }
    for (const f of HOME_FILES) {
      if (f.name === 'pocketca.db') continue;
      const target = join(home.dir, f.name);
      const data = members.get(f.name) ?? (f.name === 'bundle.pem' ? members.get('ca.pem') : undefined);
      // A replaced CA's own profile-signing key must not stay next to another CA.
      if (data) writeFileAtomic(target, data, f.mode);
      else rmSync(target, { force: true });
    }
    // The replaced database's journal would be applied to the restored one: remove it first.
    for (const suffix of ['-wal', '-shm']) rmSync(home.dbPath + suffix, { force: true });
    checkpoint('restore:files-written');
    renameSync(dbTemp, home.dbPath);
    restored = true;
    return {
      home: home.dir,
      backupCreatedAt: manifest.createdAt,
      caSubject: subject,
      caFingerprintSha256: ca.fingerprintSha256,
      signed: signed !== undefined,
      certificates: facts.certificates,
      revocations: facts.revocations,
      crlNumber: facts.latestCrl!.number,
    };
  } finally {
    for (const suffix of ['', '-wal', '-shm']) rmSync(dbTemp + suffix, { force: true });
    // A refused backup leaves no empty home behind (one that held files stays as it was).
    if (!restored && madeDir && readdirSync(home.dir).length === 0) rmdirSync(home.dir);
  }
}
