/**
 * `pocketca restore FILE`: a home from a backup. Everything is checked before
 * anything is written, in this order:
 *
 * 1. the layout, the manifest (member names from the exact list, each once,
 *    sizes that add up to the file) and every member's SHA-256;
 * 2. the manifest's signature, with the CA certificate inside the backup
 *    (a first-release backup has none: refused unless `allowUnsigned`, and
 *    only at the first release's schema: issue 16);
 * 3. then that CA's subject and fingerprint are announced, so the person can
 *    compare them with the ones they know: a backup of another CA, consistent
 *    in itself, verifies, and only that comparison tells it apart; each
 *    `--deployed-crl` must be a CRL that CA signed;
 * 4. the key opens with the passphrase and matches the certificate;
 * 5. the database, opened with trusted_schema off and not migrated: its schema
 *    is exactly what the migrations create at its version (a planted trigger
 *    is refused, issue 9), it passes integrity_check, belongs to this CA and
 *    records this crl.pem as its latest CRL.
 *
 * An existing CA is replaced only with --force. Replacing the same CA keeps
 * what the backup would roll back (src/app/restore-revocations.ts): every
 * revocation the replaced home knows and the backup does not, and the CRL
 * numbers it used; `--deployed-crl FILE` adds those a CRL of this CA lists.
 * When anything was kept, a CRL listing everything is signed at once, its
 * number above every number used, so the home's crl.pem is never the backup's
 * older one. Replacing another CA keeps nothing of it (its records belong to
 * that CA) and says so.
 *
 * The database is staged under a temporary name (checked, migrated, merged,
 * the new CRL recorded), the other files are written each atomically, and the
 * database is renamed into place last, after its `restore` event is recorded:
 * a home has a database only once all its files are there. Until that rename
 * the replaced database is untouched (checkpointed when read, so that its
 * WAL, removed just before, holds nothing it lacks).
 */
import type { KeyObject } from 'node:crypto';
import { readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BackupSignatureError, CaAlreadyExistsError, CaFileDamagedError, InvalidBackupError, PocketcaError, UnsignedBackupError } from '../errors';
import { decodeBackup, verifyManifestSignature, type DecodedBackup } from '../formats/backup-archive';
import { sha256Hex } from '../formats/crl';
import { fromPem } from '../formats/pem';
import { parseCertificate, type ParsedCertificate } from '../formats/x509';
import { latestCrl } from '../store/crls';
import { migrate, openDatabase, type Db } from '../store/database';
import { recordEvent } from '../store/events';
import { getSetting } from '../store/settings';
import { countRecords, schemaDifferences, sqliteUserVersion } from '../store/snapshot';
import { HOME_FILES } from './backup';
import { bundlePemOf } from './bundle';
import { crlDaysOf, signAndWriteCrl, type PublishedCrl } from './publish-crl';
import {
  describeReplacedHome,
  mergeRevocations,
  readDeployedCrl,
  readReplacedHome,
  type DeployedCrl,
  type KeptRevocation,
  type ReplacedHome,
  type RevocationSource,
} from './restore-revocations';
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
  /**
   * `--deployed-crl`: files holding a CRL this CA signed (PEM or DER; the
   * proxy's copy of crl.pem). Their revocations are recorded, serials the
   * backup never knew included, and CRL numbers continue above theirs;
   * default none.
   */
  deployedCrls?: string[];
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
  /** The number of the home's crl.pem now. */
  crlNumber: number;
  /** True when a new CRL was signed (something was kept): crl.pem lists more than the proxies may hold. */
  crlSigned: boolean;
  /** The home that was replaced (with --force); null for a new or empty one. */
  replaced: { sameCa: boolean | null; caSubject: string | null } | null;
  /** The revocations kept that the backup did not have. */
  kept: KeptRevocation[];
  /** Each --deployed-crl: its number, how many it lists, and how many other CRLs in the file (an intermediate's) were left out. */
  deployedCrls: (DeployedCrl & { othersLeftOut: number })[];
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

/** Open the staged copy of the backup's database, as it is: schema trusted only once compared (issue 9). */
function openStaged(path: string): Db {
  try {
    return openDatabase(path, { create: false, trustedSchema: false, migrate: false });
  } catch {
    // (SQLite's words name the temporary file, which means nothing to the user.)
    throw invalid('its pocketca.db cannot be opened: it is not an SQLite database, or it is damaged');
  }
}

/** Check the staged database (then migrate an older schema forward). */
function checkDatabase(db: Db, ca: ParsedCertificate, crlPem: Buffer): void {
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
  if (getSetting(db, 'ca_fingerprint_sha256') !== ca.fingerprintSha256) throw invalid('its database belongs to another CA than its ca.pem');
  const crlDer = fromPem(crlPem.toString('latin1'), ['X509 CRL']);
  const latest = latestCrl(db);
  if (!latest || !crlDer || sha256Hex(crlDer) !== latest.sha256) throw invalid('its crl.pem is not the latest CRL its database records');
}

/** The newest database schema the first release wrote: an unsigned backup of a newer one had its signature removed. */
const FIRST_RELEASE_SCHEMA = 2;

/**
 * The manifest's signature (a backup written since the second release), or
 * the rules for an unsigned one: only what the first release wrote (manifest
 * version 1, database schema 2 or lower, SPEC "Backups never roll
 * revocations back"), and only with --allow-unsigned. A newer schema without
 * a signature is a signed backup stripped of it, whatever the flag: the
 * signature is what it was made to carry.
 */
function checkSignature(ctx: AppContext, decoded: DecodedBackup, ca: ParsedCertificate, allowUnsigned: boolean): void {
  const { manifest, members, signed } = decoded;
  if (signed) {
    if (!verifyManifestSignature(signed, ca.publicKey)) {
      throw new BackupSignatureError(
        'the backup\'s signature does not verify with the CA certificate inside it: it was changed after `pocketca backup` wrote it',
        'use another backup; do not restore this one',
      );
    }
    return;
  }
  // The header of the database member, not only the manifest's word for it (a lone file has no WAL to override its header).
  const schema = Math.max(manifest.schemaVersion, sqliteUserVersion(members.get('pocketca.db')!) ?? 0);
  if (schema > FIRST_RELEASE_SCHEMA) {
    throw new BackupSignatureError(
      `the backup is not signed, but its ${manifest.schemaVersion > FIRST_RELEASE_SCHEMA ? 'manifest names' : 'database is at'} schema version ${schema}, which only a pocketca that signs its backups writes (the first release wrote ${FIRST_RELEASE_SCHEMA} or lower): its signature was removed`,
      'use another backup; do not restore this one',
    );
  }
  if (!allowUnsigned) {
    throw new UnsignedBackupError(
      `the backup is not signed (format version ${manifest.version}, written by pocketca ${oneLine(String(manifest.pocketcaVersion), 20)}): nothing proves who wrote it`,
      'make a new backup of the original home with this pocketca; if this is the only copy, pass --allow-unsigned',
    );
  }
  ctx.warn('this backup is not signed: its records (certificates, revocations) may have been changed by whoever had the file; its schema, key and CRL are still checked');
}

/** A CA in the home and no --force: refused, saying which CA it is and what --force would keep. */
function refuseExisting(dir: string, replaced: ReplacedHome): CaAlreadyExistsError {
  if (replaced.sameCa === true) {
    return new CaAlreadyExistsError(
      `a CA already exists in ${dir}: the backup's own CA`,
      "pass --force to replace its files with the backup's (the revocations only the home knows are kept; --deployed-crl FILE adds the proxy's)",
    );
  }
  const which = replaced.sameCa === false ? `: ${replaced.subject ? `"${oneLine(replaced.subject)}"` : 'a CA'}, another CA than the backup's` : '';
  return new CaAlreadyExistsError(
    `a CA already exists in ${dir}${which}`,
    `restore into an empty --home, or pass --force to replace it (its records are then lost; \`pocketca backup FILE --home ${dir}\` keeps a copy)`,
  );
}

/**
 * Merge what the sources keep into the staged database and, when anything
 * was kept, sign a CRL listing everything into `crlTemp` (its number above
 * every one recorded); then record the restore. One transaction.
 */
function mergeAndRecord(
  ctx: AppContext,
  db: Db,
  sources: readonly RevocationSource[],
  signing: { ca: ParsedCertificate; key: KeyObject; crlTemp: string },
  detail: string,
): { kept: KeptRevocation[]; crl: PublishedCrl | undefined } {
  return db
    .transaction(() => {
      const now = ctx.now();
      const at = now.toISOString();
      const { kept, crlsAdded } = mergeRevocations(db, sources);
      const crl = kept.length > 0 || crlsAdded > 0 ? signAndWriteCrl(db, signing.crlTemp, signing.ca, signing.key, now, crlDaysOf(db)) : undefined;
      for (const k of kept) {
        recordEvent(db, { at, command: 'restore', outcome: 'ok', serial: k.serial, name: k.name, detail: `kept: revoked ${k.revokedAt} (${k.reason}), known to ${k.from} and not to the backup` });
      }
      const summary = [detail];
      if (kept.length > 0) summary.push(`kept ${kept.length} revocation${kept.length === 1 ? '' : 's'} the backup did not have`);
      if (crl) summary.push(`signed CRL number ${crl.number}`);
      recordEvent(db, { at, command: 'restore', outcome: 'ok', detail: summary.join('; ') });
      return { kept, crl };
    })
    .immediate();
}

export async function restoreHome(ctx: AppContext, p: RestoreParams): Promise<RestoreResult> {
  const decoded = decodeBackup(
    p.backup,
    HOME_FILES.map((f) => f.name),
  );
  const { manifest, members } = decoded;
  for (const f of HOME_FILES) if (f.required && !members.has(f.name)) throw invalid(`it has no ${f.name}`);
  const ca = caCertificateOf(members);
  checkSignature(ctx, decoded, ca, p.allowUnsigned);
  if (ca.fingerprintSha256 !== manifest.ca.fingerprintSha256) throw invalid('its ca.pem is not the CA its manifest names');
  const subject = ca.x509.subject.split('\n').join(', ');
  const signed = decoded.signed !== undefined;
  p.announce({ subject, fingerprintSha256: ca.fingerprintSha256, signed });
  // Every --deployed-crl is read and verified before the passphrase is asked.
  const deployed = (p.deployedCrls ?? []).map((path) => readDeployedCrl(path, ca));

  const home = ctx.home;
  const replaced = home.hasAnyCaFile() ? describeReplacedHome(home, ca) : undefined;
  if (replaced && !p.force) throw refuseExisting(home.dir, replaced);
  const madeDir = prepareHomeDirectory(home.dir);
  const dbTemp = tempPathFor(home.dbPath);
  const crlTemp = tempPathFor(home.crlPath);
  let restored = false;
  try {
    writeFileAtomic(dbTemp, members.get('pocketca.db')!, PRIVATE);
    const db = openStaged(dbTemp);
    let merged: { kept: KeptRevocation[]; crl: PublishedCrl | undefined };
    let counts: { certificates: number; revocations: number };
    let bundle: string | undefined;
    let crlNumber: number;
    try {
      checkDatabase(db, ca, members.get('crl.pem')!);
      // The passphrase after every check that needs no key: a damaged database is told as itself.
      let key: KeyObject;
      try {
        const keyPem = members.get('ca.key.pem')!;
        key = await unlockWithRetries(ctx, (passphrase) => unlockCaKeyPem(keyPem, passphrase, ca, "the backup's ca.key.pem"));
      } catch (error) {
        if (error instanceof CaFileDamagedError) throw invalid(error.message);
        throw error;
      }
      if (replaced && replaced.sameCa !== true) {
        ctx.warn(
          replaced.sameCa === false
            ? `${home.dir} holds another CA (${replaced.subject ? `"${oneLine(replaced.subject)}", ` : ''}SHA-256 ${replaced.fingerprintSha256}): none of its records are kept, they belong to that CA`
            : `which CA ${home.dir} holds cannot be told (no readable ca.pem or database): none of its records are kept`,
        );
      }
      const sources = [...(replaced?.sameCa ? readReplacedHome(home, ca, ctx.now(), ctx.warn) : []), ...deployed.map((d) => d.source)];
      merged = mergeAndRecord(ctx, db, sources, { ca, key, crlTemp }, `from ${p.source}, a backup made ${manifest.createdAt}`);
      counts = countRecords(db);
      crlNumber = latestCrl(db)!.number;
      // A kept revocation may be an intermediate's: it leaves the bundle the proxies trust.
      if (merged.kept.length > 0) bundle = bundlePemOf(members.get('ca.pem')!.toString('latin1'), db, ctx.now());
    } finally {
      db.close();
    }
    for (const f of HOME_FILES) {
      if (f.name === 'pocketca.db') continue;
      const target = join(home.dir, f.name);
      if (f.name === 'crl.pem' && merged.crl) {
        renameSync(crlTemp, target);
        continue;
      }
      const data = (f.name === 'bundle.pem' ? bundle : undefined) ?? members.get(f.name) ?? (f.name === 'bundle.pem' ? members.get('ca.pem') : undefined);
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
      signed,
      ...counts,
      crlNumber,
      crlSigned: merged.crl !== undefined,
      replaced: replaced ? { sameCa: replaced.sameCa ?? null, caSubject: replaced.subject ?? null } : null,
      kept: merged.kept,
      deployedCrls: deployed.map((d) => ({ ...d.crl, othersLeftOut: d.others })),
    };
  } finally {
    for (const suffix of ['', '-wal', '-shm']) rmSync(dbTemp + suffix, { force: true });
    rmSync(crlTemp, { force: true });
    // A refused backup leaves no empty home behind (one that held files stays as it was).
    if (!restored && madeDir && readdirSync(home.dir).length === 0) rmdirSync(home.dir);
  }
}
