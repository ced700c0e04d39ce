/**
 * `pocketca backup FILE`: one file (0600) with a consistent snapshot of the
 * database (SQLite's online backup, not a file copy of a live database), the
 * CA key exactly as it is on disk (encrypted), the CA certificate, the bundle
 * and the current CRL, under a manifest with a SHA-256 per member
 * (src/formats/backup-archive.ts).
 *
 * A backup that cannot be restored is worse than none, so before writing it
 * checks what `restore` will check: the key opens with the passphrase and
 * matches the certificate, the snapshot passes integrity_check, and crl.pem
 * is the CRL the snapshot records last.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseError, OperationFailedError } from '../errors';
import { encodeBackup, type BackupMember } from '../formats/backup-archive';
import { sha256Hex } from '../formats/crl';
import { fromPem } from '../formats/pem';
import { openDatabase } from '../store/database';
import { recordEvent } from '../store/events';
import { describeDatabase, snapshotDatabase, type DatabaseFacts } from '../store/snapshot';
import type { AppContext } from '../host/context';
import { checkpoint, PRIVATE, PUBLIC, tempPathFor } from '../host/files';
import { readHomeFile } from '../host/home';
import { MAX_BACKUP_BYTES } from '../host/limits';
import { backupOf } from '../host/output-kinds';
import { resolveOutput, writeOutput, type StdoutSink } from '../host/output-target';
import { unlockCaKey } from '../host/unlock';

/** The files of a home a backup holds, and the modes `restore` gives them. */
export const HOME_FILES: readonly { name: string; mode: number; required: boolean }[] = [
  { name: 'pocketca.db', mode: PRIVATE, required: true },
  { name: 'ca.key.pem', mode: PRIVATE, required: true },
  { name: 'ca.pem', mode: PUBLIC, required: true },
  { name: 'crl.pem', mode: PUBLIC, required: true },
  { name: 'bundle.pem', mode: PUBLIC, required: false },
  { name: 'profile-signer.key.pem', mode: PRIVATE, required: false },
];

export interface BackupParams {
  /** Where to write the backup (mode 0600). */
  path: string;
  /** Replace the file if it exists; default false. */
  force: boolean;
  /** The pocketca version, recorded in the manifest. */
  writer: string;
  /** Where FILE `-` goes; default: `-` is refused. */
  stdout?: StdoutSink;
}

export interface BackupResult {
  path: string;
  createdAt: string;
  caFingerprintSha256: string;
  certificates: number;
  revocations: number;
  crlNumber: number;
  bytes: number;
  members: { name: string; size: number }[];
}

/**
 * Snapshot the database into `temp` and read crl.pem as one consistent pair.
 *
 * `crl`, `revoke` and `init` rename crl.pem into place while they hold the
 * write lock and record it before they release it. So this holds the write
 * lock on one connection while a second connection copies the database (WAL
 * readers are not blocked by it) and crl.pem is read: no CRL can be published
 * in between. A mismatch left is a real one (a process killed between the
 * rename and the commit) and `pocketca crl` mends it.
 */
async function consistentSnapshot(ctx: AppContext, temp: string): Promise<{ facts: DatabaseFacts; crlPem: Buffer }> {
  // Created 0600 first: SQLite keeps the mode of an existing file (and gives it to its journals).
  writeFileSync(temp, '', { mode: PRIVATE, flag: 'wx' });
  // Opened before the lock is taken: opening may wait on the write lock itself.
  const source = openDatabase(ctx.home.dbPath, { create: false });
  const lock = ctx.home.database();
  let crlPem: Buffer;
  try {
    lock.exec('BEGIN IMMEDIATE');
    try {
      await snapshotDatabase(source, temp);
      crlPem = readHomeFile(ctx.home.crlPath, 'CRL');
    } finally {
      lock.exec('ROLLBACK');
    }
  } finally {
    source.close();
  }
  const snapshot = openDatabase(temp, { create: false });
  let facts: DatabaseFacts;
  try {
    facts = describeDatabase(snapshot);
  } finally {
    snapshot.close();
  }
  if (facts.integrity !== 'ok') {
    throw new DatabaseError(`database ${ctx.home.dbPath} fails its integrity check: ${facts.integrity}`, 'run `pocketca doctor`; back up a damaged database with a file copy, not with `pocketca backup`');
  }
  const crlDer = fromPem(crlPem.toString('latin1'), ['X509 CRL']);
  if (!facts.latestCrl || !crlDer || sha256Hex(crlDer) !== facts.latestCrl.sha256) {
    throw new OperationFailedError(`${ctx.home.crlPath} is not the latest CRL the database records`, 'run `pocketca crl` to re-sign it, then back up again');
  }
  return { facts, crlPem };
}

export async function backupHome(ctx: AppContext, p: BackupParams): Promise<BackupResult> {
  const home = ctx.home;
  const ca = home.caCertificate();
  home.database();
  const target = resolveOutput(home.dir, p.path, { flag: '', what: 'a pocketca backup of this CA', sameKind: backupOf(ca, HOME_FILES.map((f) => f.name)), force: p.force, stdout: p.stdout, maxBytes: MAX_BACKUP_BYTES });
  const path = target.path;

  const temp = tempPathFor(home.dbPath);
  try {
    const { facts, crlPem } = await consistentSnapshot(ctx, temp);
    checkpoint('backup:snapshot');
    // Unlocked once everything that needs no key checked out (a damaged database, a stale crl.pem).
    const key = await unlockCaKey(ctx, 'backup');
    const members: BackupMember[] = [
      { name: 'pocketca.db', data: readFileSync(temp) },
      { name: 'ca.key.pem', data: readHomeFile(home.keyPath, 'CA key') },
      { name: 'ca.pem', data: readHomeFile(home.certPath, 'CA certificate') },
      { name: 'crl.pem', data: crlPem },
    ];
    for (const optional of ['bundle.pem', 'profile-signer.key.pem']) {
      const file = join(home.dir, optional);
      if (existsSync(file)) members.push({ name: optional, data: readHomeFile(file, optional) });
    }
    const createdAt = ctx.now().toISOString();
    const archive = encodeBackup(
      {
        createdAt,
        pocketcaVersion: p.writer,
        ca: { subject: ca.x509.subject.split('\n').join(', '), fingerprintSha256: ca.fingerprintSha256 },
        schemaVersion: facts.schemaVersion,
      },
      members,
      key,
    );
    writeOutput(target, archive, PRIVATE);
    recordEvent(home.database(), {
      at: createdAt,
      command: 'backup',
      outcome: 'ok',
      detail: `${path}: ${facts.certificates} certificates, CRL number ${facts.latestCrl!.number}`,
    });
    return {
      path,
      createdAt,
      caFingerprintSha256: ca.fingerprintSha256,
      certificates: facts.certificates,
      revocations: facts.revocations,
      crlNumber: facts.latestCrl!.number,
      bytes: archive.length,
      members: members.map((m) => ({ name: m.name, size: m.data.length })),
    };
  } finally {
    for (const suffix of ['', '-wal', '-shm']) rmSync(temp + suffix, { force: true });
  }
}
