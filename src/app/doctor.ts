/**
 * `pocketca doctor`: is this home healthy, and how long until something
 * expires (SPEC `doctor`). The CRL comes first: once it expires, every proxy
 * refuses every client. Read-only: nothing is migrated, signed or rewritten.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describedNameConstraints } from '../ca/name-constraints';
import { CaNotFoundError, PocketcaError } from '../errors';
import { CrlFormatError, readCrl, revokedSerialsOf, type ReadCrl } from '../formats/crl-reader';
import { fromPemAll } from '../formats/pem';
import type { ParsedCertificate } from '../formats/x509';
import { decodeName, formatName } from '../formats/x500-name';
import { findBySerial, listCertificates, validIntermediates } from '../store/certificates';
import { eachRevocation } from '../store/revocations';
import { latestCrl } from '../store/crls';
import type { Db } from '../store/database';
import { inspectDatabase } from '../store/health';
import { sha256Hex } from '../formats/crl';
import type { AppContext } from '../host/context';
import { CRL_WARNING_DAYS, crlStatus, signedByCa } from './crl-status';
import { parseTempName, processRuns } from '../host/files';
import { crlsInFile, intermediatesOf, signerOf } from './intermediate-crls';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: 'crl' | 'database' | 'ca-key' | 'ca-certificate' | 'bundle' | 'certificates' | 'file-modes' | 'leftovers' | 'deployed-crl';
  status: CheckStatus;
  message: string;
  /** Days left before what the check is about expires (crl, ca-certificate). */
  daysLeft?: number | null;
  /** ISO time it expires. */
  expires?: string | null;
  /** deployed-crl: the file checked. */
  path?: string;
  /** certificates: the ones expiring soon. */
  expiring?: { serial: string; name: string; notAfter: string }[];
  /** database: how its schema differs from what pocketca's migrations make (an extra trigger, a changed index...); absent when it does not. */
  schemaDifferences?: string[];
  /** file-modes: every file (or directory) of the home whose mode is not what SPEC "Modes" says; empty when none. */
  files?: FileModeProblem[];
}

export interface FileModeProblem {
  path: string;
  /** Its mode now, octal ("0644"). */
  mode: string;
  /** The mode it should have: "0700" (the home), "0600" or "0644" (ca.pem, bundle.pem, crl.pem). */
  expected: string;
}

export interface DoctorReport {
  home: string;
  ok: boolean;
  checks: Check[];
}

export interface DoctorParams {
  /** Decrypt the CA key to check it matches ca.pem (needs the passphrase). */
  verifyKey: boolean;
  /** Copies of crl.pem on the proxies (--deployed-crl): are they this CA's latest, and for how long? */
  deployedCrls?: string[];
}

/** Certificates expiring within this many days are named (SPEC `doctor`). */
export const CERT_WARNING_DAYS = 30;
/** A new root has to reach every phone: start well ahead. */
export const CA_WARNING_DAYS = 180;
const DAY_MS = 86_400_000;

const daysUntil = (iso: string, now: Date): number => Math.floor((Date.parse(iso) - now.getTime()) / DAY_MS);
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function checkCrl(ctx: AppContext, ca: ParsedCertificate, db: Db | undefined, now: Date): Check {
  const s = crlStatus(ctx.home.crlPath, ca, now);
  const fix = 'run `pocketca crl`, copy crl.pem to the proxies and reload them';
  if (typeof s === 'string') return { name: 'crl', status: 'fail', message: `${s}; ${fix}` };
  const base = { name: 'crl' as const, daysLeft: s.daysLeft, expires: s.nextUpdate };
  if (!s.signedByCa) return { ...base, status: 'fail', message: `crl.pem is not signed by this CA; ${fix}` };
  if (s.nextUpdate === null) return { ...base, status: 'ok', message: 'the CRL has no expiry' };
  if (s.expired) return { ...base, status: 'fail', message: `the CRL expired ${s.nextUpdate}: the proxies refuse every client; ${fix}` };
  const left = `the CRL expires ${s.nextUpdate}: ${s.daysLeft} days before the proxies refuse every client`;
  if (s.daysLeft! < CRL_WARNING_DAYS) return { ...base, status: 'fail', message: `${left}; ${fix}` };
  const latest = db ? latestCrl(db) : undefined;
  const der = fromPemAll(readFileSync(ctx.home.crlPath, 'latin1')).find((b) => b.label === 'X509 CRL')?.der;
  if (latest && der && sha256Hex(der) !== latest.sha256) {
    return { ...base, status: 'warn', message: `${left}, but crl.pem is not CRL number ${latest.number}, the last one signed; run \`pocketca crl\`` };
  }
  return { ...base, status: 'ok', message: left };
}

function checkDatabase(path: string): { check: Check; db?: Db } {
  if (!existsSync(path)) return { check: { name: 'database', status: 'fail', message: `${path} is missing; restore it with \`pocketca restore\`` } };
  try {
    const h = inspectDatabase(path);
    if (h.integrity.length !== 1 || h.integrity[0] !== 'ok') {
      return { db: h.db, check: { name: 'database', status: 'fail', message: `integrity check failed: ${h.integrity.slice(0, 3).join('; ')}; restore from a backup` } };
    }
    const schema = `schema ${h.schemaVersion} of ${h.latestVersion}`;
    if (h.schemaVersion > h.latestVersion) return { db: h.db, check: { name: 'database', status: 'fail', message: `${schema}: newer than this pocketca; upgrade pocketca` } };
    if (h.schemaDifferences.length > 0) {
      // SPEC "The record cannot be bent behind pocketca's back": what was planted is named; commands that change the home refuse it.
      return {
        db: h.db,
        check: {
          name: 'database',
          status: 'fail',
          message: `${schema} is not as pocketca made it: ${h.schemaDifferences.join(', ')}; commands that change the home refuse it: look at it with \`sqlite3 ${path} .schema\`, remove what was added, or restore a backup`,
          schemaDifferences: h.schemaDifferences,
        },
      };
    }
    if (h.schemaVersion < h.latestVersion) {
      return { db: h.db, check: { name: 'database', status: 'warn', message: `${schema}: the next command that writes migrates it` } };
    }
    return { db: h.db, check: { name: 'database', status: 'ok', message: `integrity ok, ${schema}` } };
  } catch (error) {
    return { check: { name: 'database', status: 'fail', message: `cannot read ${path}: ${describe(error)}; restore it with \`pocketca restore\`` } };
  }
}

async function checkKey(ctx: AppContext, p: DoctorParams): Promise<Check> {
  const path = ctx.home.keyPath;
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return { name: 'ca-key', status: 'fail', message: `${path} is missing; restore the home with \`pocketca restore\`` };
  }
  if (!/^-----BEGIN ENCRYPTED PRIVATE KEY-----$/m.test(text)) {
    return { name: 'ca-key', status: 'fail', message: `${path} is not an encrypted PKCS#8 key` };
  }
  if (!p.verifyKey) {
    return { name: 'ca-key', status: 'skip', message: 'encrypted; not opened (give --passphrase-file or POCKETCA_PASSPHRASE to check it matches ca.pem)' };
  }
  try {
    await ctx.home.unlockKey(await ctx.passphrase());
    return { name: 'ca-key', status: 'ok', message: 'encrypted, opens with the passphrase and matches ca.pem' };
  } catch (error) {
    if (error instanceof PocketcaError && error.exitCode === 2) throw error;
    return { name: 'ca-key', status: 'fail', message: describe(error) };
  }
}

function checkCaCertificate(ca: ParsedCertificate, now: Date): Check {
  const notAfter = new Date(ca.x509.validTo).toISOString();
  const days = daysUntil(notAfter, now);
  const base = { name: 'ca-certificate' as const, daysLeft: days, expires: notAfter };
  if (days < 0) return { ...base, status: 'fail', message: `the CA certificate expired ${notAfter}: nothing it signed is trusted` };
  const constraints = describedNameConstraints(ca.der);
  const message = `${formatName(decodeName(ca.subjectDer))}, valid until ${notAfter} (${days} days)${constraints ? `; name constraints: ${constraints}` : ''}`;
  if (days < CA_WARNING_DAYS) return { ...base, status: 'warn', message: `${message}: plan a new CA and its rollout to every device` };
  return { ...base, status: 'ok', message };
}

function checkBundle(ctx: AppContext, ca: ParsedCertificate, db: Db | undefined, now: Date): Check {
  let text: string;
  try {
    text = readFileSync(ctx.home.bundlePath, 'latin1');
  } catch {
    return { name: 'bundle', status: 'fail', message: `${ctx.home.bundlePath} is missing; write it with \`pocketca bundle --out ${ctx.home.bundlePath}\`` };
  }
  if (!fromPemAll(text).some((b) => b.label === 'CERTIFICATE' && b.der.equals(ca.der))) {
    return { name: 'bundle', status: 'fail', message: 'bundle.pem does not hold the CA certificate: the proxies would refuse every client' };
  }
  // bundle.pem is rewritten when an intermediate is signed or revoked and at every CRL (src/app/bundle.ts).
  const held = fromPemAll(text).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der);
  const intermediates = db ? validIntermediates(db, now.toISOString()) : [];
  const missing = intermediates.filter((i) => !held.some((der) => der.equals(i.der)));
  if (missing.length > 0) {
    return {
      name: 'bundle',
      status: 'warn',
      message: `bundle.pem lacks the intermediate${missing.length === 1 ? '' : 's'} ${missing.map((i) => i.name).join(', ')}: proxies given it refuse their leaves; \`pocketca crl\` rewrites it`,
    };
  }
  return { name: 'bundle', status: 'ok', message: intermediates.length ? `holds the CA certificate and ${intermediates.length} valid intermediate${intermediates.length === 1 ? '' : 's'}` : 'holds the CA certificate' };
}

function checkCertificates(db: Db, now: Date): Check {
  const nowIso = now.toISOString();
  const valid = listCertificates(db, { status: 'valid', now: nowIso });
  const soon = listCertificates(db, { status: 'valid', now: nowIso, expiringBefore: new Date(now.getTime() + CERT_WARNING_DAYS * DAY_MS).toISOString() });
  if (soon.length === 0) return { name: 'certificates', status: 'ok', message: `${valid.length} valid, none expiring within ${CERT_WARNING_DAYS} days`, expiring: [] };
  const expiring = soon.map((r) => ({ serial: r.serial, name: r.name, notAfter: r.notAfter }));
  const names = expiring.map((r) => `${r.name} (${r.notAfter.slice(0, 10)})`).join(', ');
  return { name: 'certificates', status: 'warn', message: `${soon.length} of ${valid.length} expire within ${CERT_WARNING_DAYS} days: ${names}; renew them`, expiring };
}

/** The files of the home others may read (SPEC "Modes"); every other file is 0600. */
const PUBLIC_HOME_FILES = new Set(['ca.pem', 'bundle.pem', 'crl.pem']);

/**
 * Every file under the home, SQLite's -wal and -shm and anything else found
 * there included (SPEC "Modes": 0600, or 0644 for the public three), and the
 * home itself (0700). A private file others can read fails; a public one
 * others can write warns. Symbolic links have no mode of their own: skipped.
 */
function checkModes(ctx: AppContext): Check {
  const problems: string[] = [];
  const warnings: string[] = [];
  const files: FileModeProblem[] = [];
  const octal = (m: number) => m.toString(8).padStart(4, '0');
  const visit = (path: string, isHome: boolean) => {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return; // gone since it was listed
    }
    const m = st.mode & 0o777;
    if (st.isDirectory()) {
      if ((m & 0o077) !== 0) {
        problems.push(`${isHome ? `${path} is` : `the directory ${path} is`} ${octal(m)} (chmod 700 it)`);
        files.push({ path, mode: octal(m), expected: '0700' });
      }
      let names: string[] = [];
      try {
        names = readdirSync(path);
      } catch {
        /* an unreadable home was refused before doctor ran; a subdirectory is reported by its mode */
      }
      for (const n of names.sort()) visit(join(path, n), false);
      return;
    }
    if (st.isSymbolicLink()) return;
    // A temporary file of an unfinished write has its final file's mode (src/host/files.ts).
    let name = basename(path);
    for (let temp = parseTempName(name); temp; temp = parseTempName(name)) name = temp.target;
    const isPublic = dirname(path) === ctx.home.dir && PUBLIC_HOME_FILES.has(name);
    if (isPublic && (m & 0o022) !== 0) {
      warnings.push(`${path} is writable by others (${octal(m)}; chmod 644 it)`);
      files.push({ path, mode: octal(m), expected: '0644' });
    } else if (!isPublic && (m & 0o077) !== 0) {
      problems.push(`${path} is ${octal(m)} (chmod 600 it)`);
      files.push({ path, mode: octal(m), expected: '0600' });
    }
  };
  visit(ctx.home.dir, true);
  if (problems.length) return { name: 'file-modes', status: 'fail', message: [...problems, ...warnings].join('; '), files };
  if (warnings.length) return { name: 'file-modes', status: 'warn', message: warnings.join('; '), files };
  return { name: 'file-modes', status: 'ok', message: 'home 0700, every private file 0600 (database journals included)', files };
}

/**
 * A copy of crl.pem where a proxy reads it. `revoke` re-signs the home's CRL,
 * but the lost phone is refused only once the new CRL is copied over and the
 * proxy reloaded: a deployed CRL that lists fewer revocations than the latest
 * fails, one that is only older warns (it expires sooner).
 */
function checkDeployedCrl(ctx: AppContext, path: string, ca: ParsedCertificate, db: Db | undefined, now: Date): Check {
  const base = { name: 'deployed-crl' as const, path };
  const fix = `copy ${ctx.home.crlPath} to ${path} and reload the proxy`;
  const s = crlStatus(path, ca, now);
  if (typeof s === 'string') return { ...base, status: 'fail', message: `${s}; ${fix}` };
  const dated = { ...base, daysLeft: s.daysLeft, expires: s.nextUpdate };
  if (!s.signedByCa) return { ...dated, status: 'fail', message: `${path} is not a CRL of this CA; ${fix}` };
  if (s.expired) return { ...dated, status: 'fail', message: `${path} expired ${s.nextUpdate}: that proxy refuses every client; ${fix}` };
  const latest = db ? latestCrl(db) : undefined;
  const missing = db ? revocationsNotOn(db, path, ca) : [];
  if (missing.length > 0) {
    const named = missing.slice(0, MISSING_SHOWN).map((r) => (r.name ? `${r.serial} (${r.name})` : r.serial));
    const more = missing.length > MISSING_SHOWN ? ` and ${missing.length - MISSING_SHOWN} more` : '';
    return {
      ...dated,
      status: 'fail',
      message: `${path} is CRL number ${s.number ?? '?'} and does not list ${missing.length} revoked certificate${missing.length === 1 ? '' : 's'}, still let in there: ${named.join(', ')}${more}; ${fix}`,
    };
  }
  const left = `${path} expires ${s.nextUpdate}: ${s.daysLeft} days`;
  if (s.daysLeft !== null && s.daysLeft < CRL_WARNING_DAYS) return { ...dated, status: 'fail', message: `${left}; ${fix}` };
  if (latest && s.number !== undefined && s.number < latest.number) {
    return { ...dated, status: 'warn', message: `${left}; it is CRL number ${s.number}, not ${latest.number}, the latest (no revocations missing); ${fix}` };
  }
  return { ...dated, status: 'ok', message: `${left}; the latest CRL (number ${s.number ?? '?'})` };
}

/** How many revoked certificates a failing deployed-CRL check names. */
const MISSING_SHOWN = 5;

/**
 * The recorded revocations the root's CRL in a deployed file does not list,
 * compared serial by serial: a count would pass a CRL that lists as many
 * certificates, but other ones. Its signature was checked (crlStatus).
 */
function revocationsNotOn(db: Db, path: string, ca: ParsedCertificate): { serial: string; name: string | undefined }[] {
  const root = crlsInFile(readFileSync(path)).find((der) => {
    try {
      return signedByCa(readCrl(der), ca);
    } catch {
      return false;
    }
  });
  if (!root) return [];
  const listed = new Set<string>();
  for (const serial of revokedSerialsOf(root)) listed.add(serial.toString('hex'));
  const missing: { serial: string; name: string | undefined }[] = [];
  for (const r of eachRevocation(db)) if (!listed.has(r.serial)) missing.push({ serial: r.serial, name: undefined });
  for (const m of missing.slice(0, MISSING_SHOWN)) m.name = findBySerial(db, m.serial)?.name;
  return missing;
}

/**
 * The intermediates' CRLs in a deployed file (`proxy --crl-file` appends them
 * after the root's): each must be signed by a valid intermediate and live,
 * and each valid intermediate needs one, or nginx and Apache refuse every
 * leaf it issued (src/app/intermediate-crls.ts).
 */
function checkDeployedIntermediateCrls(path: string, ca: ParsedCertificate, db: Db | undefined, now: Date): Check[] {
  if (!db) return [];
  const intermediates = intermediatesOf(db, now);
  let ders: Buffer[];
  try {
    ders = crlsInFile(readFileSync(path));
  } catch {
    return []; // checkDeployedCrl already says why the file cannot be read
  }
  const byRoot = (der: Buffer) => {
    try {
      return signedByCa(readCrl(der), ca);
    } catch {
      return false;
    }
  };
  // Not this CA's file at all: checkDeployedCrl already fails it, once.
  if (!ders.some(byRoot)) return [];
  const checks: Check[] = [];
  const covered = new Set<string>();
  const fix = 'have the online CA publish its CRL, then run `pocketca proxy ... --crl-file FILE` again and copy crl.pem to the proxy';
  ders.forEach((der, index) => {
    let crl: ReadCrl;
    try {
      crl = readCrl(der);
    } catch (error) {
      if (!(error instanceof CrlFormatError)) throw error;
      checks.push({ name: 'deployed-crl', path, status: 'fail', message: `CRL ${index + 1} in ${path}: ${error.message}` });
      return;
    }
    if (byRoot(der)) return; // the root's, checked above
    const signer = signerOf(crl, intermediates);
    const base = { name: 'deployed-crl' as const, path };
    if (!signer) {
      checks.push({ ...base, status: 'fail', message: `CRL ${index + 1} in ${path} is signed by none of this CA's valid intermediates (revoked, expired or another CA's); ${fix}` });
      return;
    }
    covered.add(signer.serial);
    const nextUpdate = crl.nextUpdate?.toISOString() ?? null;
    const daysLeft = crl.nextUpdate ? daysUntil(nextUpdate!, now) : null;
    const dated = { ...base, daysLeft, expires: nextUpdate };
    const what = `the CRL of intermediate ${signer.name} in ${path}`;
    if (crl.nextUpdate && crl.nextUpdate <= now) checks.push({ ...dated, status: 'fail', message: `${what} expired ${nextUpdate}: that proxy refuses every certificate ${signer.name} issued; ${fix}` });
    // Online CAs sign short-lived CRLs (step-ca: a day, Vault: 72 hours) and re-sign them often, so the
    // root's 7-day rule would always fail here: warn once less than a quarter of its lifetime is left.
    else if (crl.nextUpdate && crl.nextUpdate.getTime() - now.getTime() < (crl.nextUpdate.getTime() - crl.thisUpdate.getTime()) / 4) {
      checks.push({ ...dated, status: 'warn', message: `${what} expires ${nextUpdate}, soon after its ${Math.round((crl.nextUpdate.getTime() - crl.thisUpdate.getTime()) / 3_600_000)}-hour lifetime; ${fix}` });
    }
    else checks.push({ ...dated, status: 'ok', message: `${what} expires ${nextUpdate ?? 'never'}${daysLeft === null ? '' : `: ${daysLeft} days`} (${crl.entries} revoked)` });
  });
  for (const i of intermediates) {
    if (!covered.has(i.serial)) {
      checks.push({ name: 'deployed-crl', path, status: 'fail', message: `${path} has no CRL of intermediate ${i.name} (${i.serial}): nginx and Apache refuse every certificate it issued; ${fix}` });
    }
  }
  return checks;
}

/**
 * Temporary files of writes that never finished: a process killed between
 * writing and renaming (SPEC "Guarantees": never under a final name). They
 * are private (0600) and harmless, but a half-written key copy is still key
 * material; doctor names them and leaves deleting them to the user.
 */
function checkLeftovers(ctx: AppContext): Check {
  let names: string[];
  try {
    names = readdirSync(ctx.home.dir);
  } catch {
    return { name: 'leftovers', status: 'skip', message: `cannot list ${ctx.home.dir}` };
  }
  const stale = names.filter((n) => {
    const temp = parseTempName(n);
    return temp !== undefined && !processRuns(temp.pid);
  });
  if (stale.length === 0) return { name: 'leftovers', status: 'ok', message: 'no temporary files of unfinished writes' };
  const paths = stale.sort().map((n) => join(ctx.home.dir, n));
  return {
    name: 'leftovers',
    status: 'warn',
    message: `${stale.length} temporary file${stale.length === 1 ? '' : 's'} of writes that never finished (a killed process); nothing uses them: rm ${paths.map((p) => `'${p.replaceAll("'", "'\\''")}'`).join(' ')}`,
  };
}

export async function runDoctor(ctx: AppContext, p: DoctorParams): Promise<DoctorReport> {
  if (!ctx.home.hasAnyCaFile()) {
    throw new CaNotFoundError(`no CA in ${ctx.home.dir}`, 'point --home or POCKETCA_HOME at the CA home, or create one with `pocketca init`');
  }
  const now = ctx.now();
  const { check: database, db } = checkDatabase(ctx.home.dbPath);
  try {
    let ca: ParsedCertificate | undefined;
    let caProblem = '';
    try {
      ca = ctx.home.caCertificate();
    } catch (error) {
      caProblem = describe(error);
    }
    const needsCa = (name: Check['name']): Check => ({ name, status: 'fail', message: `cannot check without the CA certificate: ${caProblem}` });
    const checks: Check[] = [
      ca ? checkCrl(ctx, ca, db, now) : needsCa('crl'),
      database,
      await checkKey(ctx, p),
      ca ? checkCaCertificate(ca, now) : needsCa('ca-certificate'),
      ca ? checkBundle(ctx, ca, db, now) : needsCa('bundle'),
      db ? checkCertificates(db, now) : { name: 'certificates', status: 'skip', message: 'no readable database' },
      checkModes(ctx),
      checkLeftovers(ctx),
      ...(p.deployedCrls ?? []).flatMap((path): Check[] =>
        ca ? [checkDeployedCrl(ctx, path, ca, db, now), ...checkDeployedIntermediateCrls(path, ca, db, now)] : [{ ...needsCa('deployed-crl'), path }],
      ),
    ];
    return { home: ctx.home.dir, ok: checks.every((c) => c.status !== 'fail'), checks };
  } finally {
    db?.close();
  }
}
