/**
 * `pocketca restore FILE`: a home from a backup. Everything is checked before
 * anything is written: the manifest and every member's SHA-256, that the key
 * opens with the passphrase and matches the certificate, that the database
 * passes integrity_check, belongs to this CA and records this crl.pem as its
 * latest CRL. An existing CA is replaced only with --force.
 *
 * The database is renamed into place last, after its `restore` event is
 * recorded: a home has a database only once all its files are there.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaAlreadyExistsError, CaFileDamagedError, InvalidBackupError } from '../errors';
import { decodeBackup } from '../formats/backup-archive';
import { sha256Hex } from '../formats/crl';
import { fromPem } from '../formats/pem';
import { parseCertificate, type ParsedCertificate } from '../formats/x509';
import { openDatabase } from '../store/database';
import { recordEvent } from '../store/events';
import { describeDatabase, type DatabaseFacts } from '../store/snapshot';
import { HOME_FILES } from './backup';
import type { AppContext } from './context';
import { checkpoint, PRIVATE, tempPathFor, writeFileAtomic } from './files';
import { unlockCaKeyPem } from './home';

export interface RestoreParams {
  /** The backup file's bytes. */
  backup: Buffer;
  /** Where it came from, for messages and the audit log. */
  source: string;
  /** Replace an existing CA in the home; default false. */
  force: boolean;
}

export interface RestoreResult {
  home: string;
  backupCreatedAt: string;
  caSubject: string;
  caFingerprintSha256: string;
  certificates: number;
  revocations: number;
  crlNumber: number;
}

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

/** Check the snapshot in `path` (migrating an older schema forward) and record the restore in it. */
function checkDatabase(path: string, ca: ParsedCertificate, crlPem: Buffer, event: { at: string; detail: string }): DatabaseFacts {
  const db = openDatabase(path, { create: false });
  try {
    const facts = describeDatabase(db);
    if (facts.integrity !== 'ok') throw invalid(`its database fails the integrity check (${facts.integrity.slice(0, 200)})`);
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
  const { manifest, members } = decodeBackup(p.backup);
  for (const name of members.keys()) if (!HOME_FILES.some((f) => f.name === name)) throw invalid(`unexpected member ${name}`);
  for (const f of HOME_FILES) if (f.required && !members.has(f.name)) throw invalid(`it has no ${f.name}`);
  const ca = caCertificateOf(members);
  if (ca.fingerprintSha256 !== manifest.ca.fingerprintSha256) throw invalid('its ca.pem is not the CA its manifest names');

  const home = ctx.home;
  if (home.hasAnyCaFile() && !p.force) {
    throw new CaAlreadyExistsError(`a CA already exists in ${home.dir}`, 'restore into an empty --home, or pass --force to replace it (its records are then lost)');
  }
  try {
    await unlockCaKeyPem(members.get('ca.key.pem')!, await ctx.passphrase(), ca, "the backup's ca.key.pem");
  } catch (error) {
    if (error instanceof CaFileDamagedError) throw invalid(error.message);
    throw error;
  }

  const madeDir = !existsSync(home.dir);
  if (madeDir) {
    mkdirSync(home.dir, { recursive: true, mode: 0o700 });
    chmodSync(home.dir, 0o700);
  }
  const dbTemp = tempPathFor(home.dbPath);
  let restored = false;
  try {
    writeFileAtomic(dbTemp, members.get('pocketca.db')!, PRIVATE);
    const facts = checkDatabase(dbTemp, ca, members.get('crl.pem')!, {
      at: ctx.now().toISOString(),
      detail: `from ${p.source}, a backup made ${manifest.createdAt}`,
    });
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
      caSubject: manifest.ca.subject,
      caFingerprintSha256: ca.fingerprintSha256,
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
