/**
 * The CA home (SPEC "The CA home"): where its files live, opening them, and
 * unlocking the CA key. Commands get one CaHome and close it at the end.
 */
import { accessSync, chmodSync, constants as fsConstants, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CaFileDamagedError, CaNotFoundError, FilesystemError, KeyDerivationTooCostlyError, UnexpectedSchemaError, UsageError, WrongPassphraseError } from '../errors';
import { readChildren, readTlv } from '../formats/der-reader';
import { checkKeyDerivation } from '../formats/encrypted-key';
import { fromPem } from '../formats/pem';
import { parseCertificate, type ParsedCertificate } from '../formats/x509';
import { migrate, openDatabase, type Db } from '../store/database';
import { schemaDifferences } from '../store/schema';
import { describeFsError, readFileBounded } from './files';
import { MAX_HOME_FILE_BYTES } from './limits';
import { checkCanMakeDirectory } from './output-target';
import { decryptCaKey } from './key-prefetch';

const RESTORE_HINT = 'restore the home from a backup with `pocketca restore`';

/** Read a file of the home; missing is CaNotFoundError, anything else wrong is CaFileDamagedError (exit 1). */
export function readHomeFile(path: string, what: string): Buffer {
  if (!existsSync(path)) throw new CaNotFoundError(`the ${what} ${path} is missing`, RESTORE_HINT);
  try {
    return readFileBounded(path, { max: MAX_HOME_FILE_BYTES, what: `the ${what}`, expected: `that is not a ${what}` });
  } catch (error) {
    if (error instanceof UsageError) throw new CaFileDamagedError(error.message, RESTORE_HINT);
    throw error;
  }
}

/** An EncryptedPrivateKeyInfo is SEQUENCE { AlgorithmIdentifier, OCTET STRING } (RFC 5958 §3). */
function isEncryptedKeyInfo(der: Buffer): boolean {
  try {
    const outer = readTlv(der, 0);
    const [alg, data, ...rest] = readChildren(der, outer);
    return outer.tag === 0x30 && outer.end === der.length && alg?.tag === 0x30 && data?.tag === 0x04 && rest.length === 0;
  } catch {
    return false;
  }
}

/**
 * The home is a directory pocketca can read, or does not exist yet (SPEC
 * "Everyday use"): a file, or a path through a file, is exit 2; a home it may
 * not read is exit 1, not "no CA". Returns whether it exists.
 */
export function checkHomeDirectory(dir: string): boolean {
  const where = `the CA home ${dir}`;
  const hint = 'point --home (or POCKETCA_HOME) at the CA home directory';
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') throw new UsageError(`${where} is not a directory: a part of its path is a file`, hint);
    throw new FilesystemError(`cannot read ${where}: ${describeFsError(error)}`);
  }
  if (!isDir) throw new UsageError(`${where} is not a directory`, hint);
  try {
    accessSync(dir, fsConstants.R_OK | fsConstants.X_OK);
  } catch (error) {
    throw new FilesystemError(`cannot read ${where}: ${describeFsError(error)}`, 'run pocketca as the user who owns it, or fix its permissions');
  }
  return true;
}

/**
 * An existing home made ready for the CA's files (init, restore): an empty
 * one becomes 0700 (SPEC "Modes"); one that someone else can change is
 * refused before anything is made in it: its owner, or anyone who may write
 * the directory, could rename another ca.pem or pocketca.db over the CA's
 * (a home with other files in it keeps its mode; run as root, a directory
 * another user made stays theirs). The mode is checked after the chmod, so a
 * file dropped in meanwhile does not keep a 0777 mode.
 */
function claimHome(dir: string): void {
  const uid = process.getuid?.();
  const owner = statSync(dir).uid;
  if (uid !== undefined && owner !== uid) {
    throw new UsageError(`${dir} is owned by uid ${owner}, not by this user (uid ${uid}): its owner could replace the CA's files`, 'use a --home of your own, e.g. a new directory');
  }
  if (readdirSync(dir).length === 0) chmodSync(dir, 0o700);
  const mode = statSync(dir).mode;
  if ((mode & 0o022) !== 0) {
    throw new UsageError(
      `${dir} is writable by ${mode & 0o020 ? 'group' : 'others'} (mode ${(mode & 0o7777).toString(8)}): they could replace the CA's files`,
      `use a new directory as --home, or chmod 700 ${dir}`,
    );
  }
}

/**
 * Make the home directory ready to receive a CA (`init`, `restore`): a new
 * one is created 0700, and an existing empty one (mkdir ~/.pocketca first, a
 * fresh stick's folder) becomes 0700 (SPEC "Modes"); one that already holds
 * other files is the user's and keeps its mode. Returns whether it was created.
 */
export function prepareHomeDirectory(dir: string): boolean {
  const created = !existsSync(dir);
  if (created) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } else claimHome(dir);
  return created;
}

/**
 * What a command does to the home, declared once for each command
 * (HOME_ACCESS in src/cli/commands/index.ts, which does not compile without
 * it). It decides what a database whose schema is not pocketca's means:
 * - 'changes': the command records, signs or rewrites something: it is
 *   refused (exit 1, the objects named) before anything changes;
 * - 'reads': the command only shows what is there: a warning, and it goes on
 *   (`doctor` reports it as a failed check of its own);
 * - 'replaces': `restore`, which puts another database in its place: a warning.
 */
export type HomeAccess = 'changes' | 'reads' | 'replaces';

export interface CaHomeOptions {
  access: HomeAccess;
  /** Where a warning about the home goes (stderr). */
  warn: (message: string) => void;
}

/** Differences named in one message; more are counted. */
const MAX_DIFFERENCES_SHOWN = 5;

export class CaHome {
  readonly dbPath: string;
  readonly keyPath: string;
  readonly certPath: string;
  readonly bundlePath: string;
  readonly crlPath: string;
  private db: Db | undefined;
  private ca: ParsedCertificate | undefined;

  constructor(
    readonly dir: string,
    private readonly options: CaHomeOptions,
  ) {
    this.dbPath = join(dir, 'pocketca.db');
    this.keyPath = join(dir, 'ca.key.pem');
    this.certPath = join(dir, 'ca.pem');
    this.bundlePath = join(dir, 'bundle.pem');
    this.crlPath = join(dir, 'crl.pem');
  }

  /**
   * True when any part of a CA is present (init and restore must not touch
   * it). A home that does not exist yet must be one they can make.
   */
  hasAnyCaFile(): boolean {
    if (!checkHomeDirectory(this.dir)) {
      checkCanMakeDirectory(this.dir, '--home');
      return false;
    }
    return [this.dbPath, this.keyPath, this.certPath].some((p) => existsSync(p));
  }

  private requireCa(): void {
    checkHomeDirectory(this.dir);
    if (!existsSync(this.certPath) && !existsSync(this.dbPath)) {
      throw new CaNotFoundError(`no CA in ${this.dir}`, `create one with \`pocketca init --home ${this.dir}\`, or point --home / POCKETCA_HOME at it`);
    }
  }

  /**
   * The home's database, opened once per run with trusted_schema off, its
   * schema compared with what the migrations make at its version before
   * anything is read or migrated (SPEC "The record cannot be bent behind
   * pocketca's back"), then migrated to the latest.
   */
  database(): Db {
    if (!this.db) {
      this.requireCa();
      const db = openDatabase(this.dbPath, { create: false, migrate: false });
      try {
        this.checkSchema(db);
      } catch (error) {
        db.close();
        throw error;
      }
      this.db = db;
    }
    return this.db;
  }

  /**
   * A schema that is not pocketca's: refused for a command that changes the
   * home, a warning for one that reads it (HomeAccess); such a database is
   * never migrated, since a migration would run beside what was planted.
   * One that is pocketca's is migrated, and checked again at its new version.
   */
  private checkSchema(db: Db): void {
    let differences = schemaDifferences(db);
    if (differences.length === 0) {
      const version = db.pragma('user_version', { simple: true }) as number;
      migrate(db);
      if (db.pragma('user_version', { simple: true }) === version) return;
      differences = schemaDifferences(db);
      if (differences.length === 0) return;
    }
    const named = differences.slice(0, MAX_DIFFERENCES_SHOWN).join(', ') + (differences.length > MAX_DIFFERENCES_SHOWN ? `, and ${differences.length - MAX_DIFFERENCES_SHOWN} more` : '');
    const what = `the database ${this.dbPath} is not as pocketca made it: ${named}`;
    if (this.options.access === 'changes') {
      throw new UnexpectedSchemaError(
        `${what}; nothing was changed`,
        `look at it with \`sqlite3 ${this.dbPath} .schema\`; remove what was added with sqlite3, or restore the home from a backup with \`pocketca restore\``,
      );
    }
    this.options.warn(`${what}: what is shown may not be what happened (\`pocketca doctor\` checks the home)`);
  }

  /** Adopt a database this process just created (init). */
  adoptDatabase(db: Db): void {
    this.db = db;
  }

  caCertificate(): ParsedCertificate {
    if (!this.ca) {
      this.requireCa();
      const text = readHomeFile(this.certPath, 'CA certificate').toString('latin1');
      const der = fromPem(text, ['CERTIFICATE']);
      if (!der) throw new CaFileDamagedError(`${this.certPath} holds no certificate`, RESTORE_HINT);
      try {
        this.ca = parseCertificate(der);
      } catch {
        throw new CaFileDamagedError(`the CA certificate ${this.certPath} is damaged`, RESTORE_HINT);
      }
    }
    return this.ca;
  }

  caCertificatePem(): string {
    return readFileSync(this.certPath, 'utf8');
  }

  /** Decrypt the CA key; checks it belongs to the CA certificate. */
  unlockKey(passphrase: string): Promise<KeyObject> {
    return unlockCaKeyPem(readHomeFile(this.keyPath, 'CA key'), passphrase, this.caCertificate(), this.keyPath);
  }

  /** checkCaKeyPem on ca.key.pem: what unlocking it would refuse, found before the passphrase is asked. */
  checkKey(): void {
    this.requireCa();
    checkCaKeyPem(readHomeFile(this.keyPath, 'CA key'), this.keyPath);
  }

  keyFileMode(): number | undefined {
    try {
      return statSync(this.keyPath).mode & 0o777;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}

/**
 * Check a CA key PEM before anything is derived from it: a file that is not an
 * EncryptedPrivateKeyInfo at all is damaged (CaFileDamagedError), one whose
 * key derivation asks for more than KDF_LIMITS is KeyDerivationTooCostlyError
 * (SPEC "Hostile key files"). Both exit 1, before a passphrase is asked.
 */
export function checkCaKeyPem(pem: Buffer, where: string): void {
  const der = fromPem(pem.toString('latin1'), ['ENCRYPTED PRIVATE KEY']);
  if (!der) {
    const plain = /-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(pem.toString('latin1'));
    throw new CaFileDamagedError(plain ? `${where} is an unencrypted private key` : `${where} is not an encrypted private key`, RESTORE_HINT);
  }
  if (!isEncryptedKeyInfo(der)) throw new CaFileDamagedError(`${where} is damaged: not a readable encrypted private key`, RESTORE_HINT);
  try {
    checkKeyDerivation(der);
  } catch (error) {
    if (error instanceof KeyDerivationTooCostlyError) {
      throw new KeyDerivationTooCostlyError(`${where} is refused before any work: its ${error.message}`, `pocketca writes scrypt N=2^14, r=8, p=1; ${RESTORE_HINT}`);
    }
    throw new CaFileDamagedError(`${where} is damaged: ${(error as Error).message}`, RESTORE_HINT);
  }
}

/**
 * Decrypt a CA key PEM (checked first, checkCaKeyPem) and check it belongs to
 * `ca`. Once it parses, a failed decryption is the passphrase (CBC without a
 * MAC cannot tell a flipped ciphertext bit from a wrong key).
 */
export async function unlockCaKeyPem(pem: Buffer, passphrase: string, ca: ParsedCertificate, where: string): Promise<KeyObject> {
  checkCaKeyPem(pem, where);
  let key: KeyObject;
  try {
    key = await decryptCaKey(pem, passphrase);
  } catch (error) {
    if (error instanceof WrongPassphraseError) throw error;
    throw new CaFileDamagedError(`${where} is damaged: it cannot be decrypted`, RESTORE_HINT);
  }
  if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(ca.spkiDer)) {
    throw new CaFileDamagedError(`${where} does not belong to the CA certificate`, RESTORE_HINT);
  }
  return key;
}
