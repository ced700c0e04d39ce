/**
 * `pocketca init`: the root key and certificate, the database, CRL number 1
 * and the bundle. Claims ca.key.pem with an exclusive link first, so two
 * `init`s on one home cannot both win; removes what it made if it fails.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { linkSync, rmSync } from 'node:fs';
import { buildRootTbs } from '../ca/certificate-profiles';
import { describeKeySpec, generateKey, resolveKeySpec, type KeySpec } from '../ca/key-types';
import { constraintsFromFlags, describeConstraints, type PermitFlags } from '../ca/name-constraints';
import { generateSerial } from '../ca/serial';
import { signTbs } from '../ca/signing';
import { MAX_CN_LENGTH } from '../ca/subject';
import { CaAlreadyExistsError, UsageError } from '../errors';
import { encryptPrivateKey } from '../formats/encrypted-key';
import { toPem } from '../formats/pem';
import { encodeName, formatName, type NameAttribute } from '../formats/x500-name';
import { parseCertificate } from '../formats/x509';
import { openDatabase } from '../store/database';
import { recordEvent } from '../store/events';
import { setSetting } from '../store/settings';
import type { AppContext } from '../host/context';
import { PRIVATE, PUBLIC, tempPathFor, writeFileAtomic } from '../host/files';
import { prepareHomeDirectory } from '../host/home';
import { signAndWriteCrl } from './publish-crl';

export const KEY_SIZES = [2048, 3072, 4096] as const;
/** The root's RSA modulus when none is given (SPEC `init --key-size`). */
export const DEFAULT_CA_KEY_SIZE = 3072;

export interface InitParams {
  /** Subject CN; default 'pocketca Root CA'. */
  name: string;
  /** Subject O; default none. */
  org?: string;
  /** Subject C (two letters); default none. */
  country?: string;
  /** rsa (default) or ec. */
  keyType?: string;
  /** EC curve, P-256 (default) or P-384; only with keyType ec. */
  curve?: string;
  /** RSA modulus size; default 3072; only with keyType rsa. */
  keySize?: number;
  /** Root validity in days; default 3650. */
  days: number;
  /** Validity of every CRL this CA signs, in days; default DEFAULT_CRL_DAYS. */
  crlDays: number;
  /** `--permit-dns/--permit-ip/--permit-email`: the root's name constraints; default none. */
  permit?: PermitFlags;
  /** Called once the passphrase is in hand, before the key is generated (seconds, for RSA-4096), with the key's description. */
  onKeyGeneration?: (key: string) => void;
}

export interface InitResult {
  subject: string;
  serial: string;
  notAfter: string;
  fingerprintSha256: string;
  home: string;
  /** The name constraints, described, when `permit` gave any. */
  nameConstraints?: string;
}

export const generateRsaKey = (bits: number): Promise<KeyObject> => generateKey({ type: 'rsa', bits });

/** Write a file only if nothing is at `path` yet (link(2) fails with EEXIST). */
function writeFileExclusive(path: string, data: string, mode: number): void {
  const temp = tempPathFor(path);
  writeFileAtomic(temp, data, mode);
  try {
    linkSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

function validate(p: InitParams): { subject: NameAttribute[]; keySpec: KeySpec } {
  // RFC 5280 Appendix A bounds (ub-common-name, ub-organization-name: 64) count characters, not UTF-16 units.
  if (!p.name.trim() || [...p.name].length > MAX_CN_LENGTH) throw new UsageError('--name must be 1-64 characters');
  if (p.org !== undefined && (!p.org.trim() || [...p.org].length > 64)) throw new UsageError('--org must be 1-64 characters');
  if (p.country !== undefined && !/^[A-Z]{2}$/.test(p.country)) throw new UsageError('--country must be two capital letters (ISO 3166), e.g. DE');
  const keySpec = resolveKeySpec(p, DEFAULT_CA_KEY_SIZE);
  if (!Number.isInteger(p.crlDays) || p.crlDays < 1 || p.crlDays > 3650) throw new UsageError('--crl-days must be a whole number from 1 to 3650');
  const attrs: NameAttribute[] = [];
  if (p.country) attrs.push({ type: 'C', value: p.country });
  if (p.org) attrs.push({ type: 'O', value: p.org });
  attrs.push({ type: 'CN', value: p.name });
  return { subject: attrs, keySpec };
}

export async function initCa(ctx: AppContext, params: InitParams): Promise<InitResult> {
  const home = ctx.home;
  const { subject, keySpec } = validate(params);
  const nameConstraints = constraintsFromFlags(params.permit ?? { dns: [], ip: [], email: [] });
  const alreadyExists = () =>
    new CaAlreadyExistsError(`a CA already exists in ${home.dir}`, 'use another --home, or remove that directory if you really mean to start over');
  if (home.hasAnyCaFile()) throw alreadyExists();

  const passphrase = await ctx.passphrase();
  params.onKeyGeneration?.(describeKeySpec(keySpec));
  prepareHomeDirectory(home.dir);
  const key = await generateKey(keySpec);
  const now = ctx.now();
  const serial = generateSerial(ctx.randomBytes);
  const spkiDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const certDer = signTbs(key, buildRootTbs({ subjectDer: encodeName(subject), spkiDer, days: params.days, now, serial, nameConstraints }));
  const ca = parseCertificate(certDer);
  const certPem = toPem('CERTIFICATE', certDer);

  const created: string[] = [];
  try {
    try {
      writeFileExclusive(home.keyPath, encryptPrivateKey(key, passphrase, ctx.randomBytes), PRIVATE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists();
      throw error;
    }
    created.push(home.keyPath);
    writeFileExclusive(home.certPath, certPem, PUBLIC);
    created.push(home.certPath);
    created.push(home.dbPath, home.dbPath + '-wal', home.dbPath + '-shm');
    // Created 0600 before SQLite opens it, so its -wal and -shm are too (src/store/database.ts).
    const db = openDatabase(home.dbPath, { create: true });
    home.adoptDatabase(db);
    db.transaction(() => {
      setSetting(db, 'ca_fingerprint_sha256', ca.fingerprintSha256);
      setSetting(db, 'crl_days', String(params.crlDays));
      setSetting(db, 'created_at', now.toISOString());
      recordEvent(db, { at: now.toISOString(), command: 'init', outcome: 'ok', serial: ca.serialHex, name: params.name });
      created.push(home.crlPath);
      signAndWriteCrl(db, home.crlPath, ca, key, now, params.crlDays);
      created.push(home.bundlePath);
      writeFileAtomic(home.bundlePath, certPem, PUBLIC);
    }).immediate();
  } catch (error) {
    if (!(error instanceof CaAlreadyExistsError)) {
      home.close();
      for (const path of created) rmSync(path, { force: true });
    }
    throw error;
  }
  return {
    subject: formatName(subject),
    serial: ca.serialHex,
    notAfter: new Date(ca.x509.validTo).toISOString(),
    fingerprintSha256: ca.fingerprintSha256,
    home: home.dir,
    ...(nameConstraints ? { nameConstraints: describeConstraints(nameConstraints) } : {}),
  };
}
