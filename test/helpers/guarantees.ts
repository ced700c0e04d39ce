/**
 * Checks of the SPEC's guarantees on a home and an output directory, made
 * from outside: the database is opened with better-sqlite3 directly, files
 * are parsed by Node's X509Certificate and openssl, never by pocketca's code.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadMigrations, migrate } from '../../src/store/database';
import { openssl, tempDir, tool } from './cli';

/** What writeFileAtomic leaves behind when killed before its rename: `.NAME.tmp-PID-RANDOM`. */
export const TEMP_NAME = /^\..+\.tmp-\d+-[0-9a-f]{8}$/;

export function withDatabase<T>(home: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(home, 'pocketca.db'), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Every file directly under a directory with its bytes, to show that a refused command changed nothing. */
export function snapshotDir(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name))]));
}

/**
 * Put the home's database back to schema `version`, as a pocketca of that
 * version made it: the first `version` migrations on a new file, the rows
 * copied in (the columns have not changed since 001), the file renamed over
 * pocketca.db. For the paths that run on an older home: check, then migrate.
 */
export function downgradeDatabase(home: string, version: number): void {
  const path = join(home, 'pocketca.db');
  const temp = join(home, 'older.db');
  const older = new Database(temp);
  try {
    migrate(older, loadMigrations().slice(0, version));
    older.exec(`ATTACH DATABASE '${path.replaceAll("'", "''")}' AS current`);
    for (const table of ['settings', 'certificates', 'certificate_ders', 'revocations', 'crls', 'events']) older.exec(`INSERT INTO main.${table} SELECT * FROM current.${table}`);
    older.exec('DETACH DATABASE current');
    older.pragma('journal_mode = WAL');
  } finally {
    older.close();
  }
  for (const suffix of ['-wal', '-shm']) rmSync(path + suffix, { force: true });
  renameSync(temp, path);
}

export const integrityCheck = (home: string): string =>
  withDatabase(home, (db) => (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; '));

export const recordedFingerprints = (home: string): Set<string> =>
  withDatabase(home, (db) => new Set(db.prepare('SELECT fingerprint_sha256 FROM certificates').pluck().all() as string[]));

export const revokedSerials = (home: string): string[] =>
  withDatabase(home, (db) => (db.prepare('SELECT serial FROM revocations').pluck().all() as string[]).sort());

/** CRL numbers in the order they were signed (thisUpdate, then insertion). */
export const crlNumbers = (home: string): number[] =>
  withDatabase(home, (db) => db.prepare('SELECT number FROM crls ORDER BY this_update, rowid').pluck().all() as number[]);

export const fingerprintOfPem = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** The leaf certificate inside a PKCS#12, by openssl. */
export function p12LeafPem(p12Path: string, passwordFile: string): string {
  const r = openssl(['pkcs12', '-in', p12Path, '-nokeys', '-clcerts', '-passin', `file:${passwordFile}`]);
  assert.equal(r.code, 0, `openssl cannot read ${p12Path}: ${r.stderr}`);
  return r.stdout;
}

/** The PKCS#12 inside an unsigned .mobileconfig (the com.apple.security.pkcs12 payload). */
export function mobileconfigP12(path: string): Buffer {
  const bytes = readFileSync(path);
  let xml = bytes.toString('utf8');
  if (bytes[0] === 0x30) {
    // Signed (CMS SignedData, DER): openssl checks the signature over the whole content and hands it out.
    const r = tool('openssl', ['cms', '-verify', '-noverify', '-inform', 'DER', '-in', path]);
    assert.equal(r.code, 0, `${path}: ${r.stderr}`);
    xml = r.stdout;
  }
  assert.match(xml, /<\/plist>\s*$/, `${path} is complete`);
  // Keys are sorted: a payload's PayloadContent comes before its PayloadType, within one <dict>.
  const m = /<key>PayloadContent<\/key>\s*<data>([^<]*)<\/data>(?:(?!<\/dict>)[\s\S])*?<string>com\.apple\.security\.pkcs12<\/string>/.exec(xml);
  assert.ok(m, `${path} has a pkcs12 payload`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

export interface DiskCertificate {
  file: string;
  fingerprint: string;
}

/**
 * Every certificate in the output directory's final-named files, each parsed
 * completely (a half-written file fails here): NAME.pem, NAME.fullchain.pem
 * (its leaf), NAME.p12 and NAME.mobileconfig (the leaf in the PKCS#12), and
 * NAME.key.pem must be a whole key. Temporary names are returned apart.
 */
export function scanOutDir(dir: string, p12PasswordFile: string, cache = new Map<string, DiskCertificate | null>()): { certificates: DiskCertificate[]; temps: string[] } {
  const certificates: DiskCertificate[] = [];
  const temps: string[] = [];
  for (const file of readdirSync(dir)) {
    const path = join(dir, file);
    if (TEMP_NAME.test(file)) {
      temps.push(file);
      continue;
    }
    // A file replaced by rename has a new inode: the cache never answers for changed content.
    const st = statSync(path);
    const key = `${file}:${st.ino}:${st.size}:${st.mtimeMs}`;
    if (cache.has(key)) {
      const known = cache.get(key);
      if (known) certificates.push(known);
      continue;
    }
    const before = certificates.length;
    if (file.endsWith('.key.pem')) {
      assert.equal(openssl(['pkey', '-in', path, '-noout']).code, 0, `${file} is a whole key`);
      assert.equal(statSync(path).mode & 0o777, 0o600, `${file} is 0600`);
    } else if (file.endsWith('.pem')) {
      certificates.push({ file, fingerprint: fingerprintOfPem(readFileSync(path, 'utf8')) });
    } else if (file.endsWith('.p12')) {
      certificates.push({ file, fingerprint: fingerprintOfPem(p12LeafPem(path, p12PasswordFile)) });
    } else if (file.endsWith('.mobileconfig')) {
      const scratch = tempDir('pocketca-scan-');
      try {
        writeFileSync(join(scratch, 'inner.p12'), mobileconfigP12(path));
        certificates.push({ file, fingerprint: fingerprintOfPem(p12LeafPem(join(scratch, 'inner.p12'), p12PasswordFile)) });
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }
    cache.set(key, certificates.length > before ? certificates[certificates.length - 1]! : null);
  }
  return { certificates, temps };
}

export interface CrlFacts {
  number: number;
  /** Revoked serials, lowercase hex as pocketca stores them. */
  serials: string[];
  text: string;
}

/** crl.pem read by openssl, which must verify its signature with ca.pem. */
export function readCrl(home: string): CrlFacts {
  const r = openssl(['crl', '-in', join(home, 'crl.pem'), '-CAfile', join(home, 'ca.pem'), '-noout', '-text']);
  assert.equal(r.code, 0, r.stderr);
  // OpenSSL 3.0 exits 0 even when the signature is bad: the words are what count.
  assert.match(r.stderr + r.stdout, /verify OK/, 'the CRL verifies with the CA certificate');
  const number = Number(/CRL Number:\s+(\d+)/.exec(r.stdout)?.[1]);
  const serials = [...r.stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase().replace(/^0+(?=.)/, '')).sort();
  return { number, serials, text: r.stdout };
}

/**
 * The home's final-named files are whole: ca.pem and bundle.pem parse, every
 * key is a complete encrypted PEM (crl.pem is left to readCrl). Temporary
 * files are returned.
 */
export function checkHomeFiles(home: string): { temps: string[] } {
  const temps: string[] = [];
  for (const file of readdirSync(home)) {
    const path = join(home, file);
    if (TEMP_NAME.test(file)) temps.push(file);
    else if (file === 'ca.pem' || file === 'bundle.pem') new X509Certificate(readFileSync(path));
    // crl.pem: the caller verifies it with readCrl (one openssl run a check).
    else if (file.endsWith('.key.pem')) {
      assert.match(readFileSync(path, 'latin1'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END ENCRYPTED PRIVATE KEY-----\n$/, `${file} is a whole encrypted key`);
      assert.equal(statSync(path).mode & 0o777, 0o600, `${file} is 0600`);
    }
  }
  return { temps };
}

export type IdentityState = 'complete' | 'absent' | 'partial';

/**
 * Where one client identity (`issue NAME`, one line of `issue --batch`)
 * stands after a run: complete (recorded, and NAME.pem, NAME.p12 and
 * NAME.mobileconfig all whole and holding the recorded certificate), absent
 * (neither recorded nor any file under a final name), or partial.
 */
export function clientIdentityState(home: string, dir: string, name: string, p12PasswordFile: string): IdentityState {
  const recorded = withDatabase(home, (db) => db.prepare('SELECT fingerprint_sha256 FROM certificates WHERE name = ?').pluck().all(name) as string[]);
  const [pem, p12, profile] = ['.pem', '.p12', '.mobileconfig'].map((suffix) => join(dir, name + suffix)) as [string, string, string];
  const present = [pem, p12, profile].filter((path) => existsSync(path));
  if (recorded.length === 0 && present.length === 0) return 'absent';
  if (recorded.length === 0 || present.length < 3) return 'partial';
  const scratch = tempDir('pocketca-identity-');
  try {
    writeFileSync(join(scratch, 'inner.p12'), mobileconfigP12(profile));
    const prints = [fingerprintOfPem(readFileSync(pem, 'utf8')), fingerprintOfPem(p12LeafPem(p12, p12PasswordFile)), fingerprintOfPem(p12LeafPem(join(scratch, 'inner.p12'), p12PasswordFile))];
    return prints.every((print) => print === prints[0] && recorded.includes(print)) ? 'complete' : 'partial';
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** OUT_DIR/passwords.csv of `issue --batch`: its header checked, then name -> password in file order. */
export function readPasswordsCsv(path: string): Map<string, string> {
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(header, 'name,password', `${path} starts with its header`);
  return new Map(lines.map((line) => line.split(',') as [string, string]));
}
