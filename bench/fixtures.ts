/**
 * The three tools under test, set up in a temporary directory: pocketca CA
 * homes, easy-rsa PKIs and an OpenSSL `ca` configuration. Every secret is
 * passed through a file (`--passphrase-file`, `-passin file:`), as a careful
 * user would, and every CA key is encrypted.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_SCRYPT, readScryptEncryption } from '../src/formats/encrypted-key';
import { fromPem } from '../src/formats/pem';
import { runOnce, type Step } from './measure';

export const ROOT = resolve(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'pocketca');
export const EASYRSA = process.env.EASYRSA_BIN ?? '/usr/share/easy-rsa/easyrsa';
/** A throwaway passphrase for the benchmark's own CAs. */
const PASSPHRASE = 'bench passphrase, not a secret';

export class Workspace {
  /** The CA passphrase (pocketca, openssl -passin). */
  readonly passFile: string;
  /** The same passphrase again: openssl reads passin and passout from one file as two lines. */
  readonly passOutFile: string;
  /** The PKCS#12 password for issued identities. */
  readonly p12PassFile: string;

  constructor(readonly dir: string) {
    this.passFile = this.secret('passphrase', PASSPHRASE);
    this.passOutFile = this.secret('passphrase-out', PASSPHRASE);
    this.p12PassFile = this.secret('p12-password', 'bench-p12-password');
  }

  private secret(name: string, value: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, value + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** A fresh directory under the workspace. */
  mkdir(...parts: string[]): string {
    const path = this.path(...parts);
    mkdirSync(path, { recursive: true });
    return path;
  }
}

/** The environment without the runner's pocketca settings. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith('POCKETCA_')) delete env[key];
  return env;
}

const POCKETCA_ENV = cleanEnv();

/** `node bin/pocketca ARGS`, as a user runs it. */
export function pocketca(args: string[], stdoutFile?: string): Step {
  return { command: process.execPath, args: [BIN, ...args], env: POCKETCA_ENV, stdoutFile };
}

export function openssl(args: string[]): Step {
  return { command: 'openssl', args, env: POCKETCA_ENV };
}

/** `easyrsa ARGS` in batch mode on the PKI at `pki`. */
export function easyrsa(pki: string, args: string[]): Step {
  return { command: EASYRSA, args, env: cleanEnv({ EASYRSA_BATCH: '1', EASYRSA_PKI: pki, EASYRSA_SILENT: '1' }) };
}

/** A pocketca CA home with the default RSA-3072 root. */
export function initPocketcaHome(ws: Workspace, name: string): string {
  const home = ws.path(name);
  runOnce(pocketca(['init', '--home', home, '--passphrase-file', ws.passFile, '--name', `bench ${name}`, '-q']));
  return home;
}

/** What pocketca encrypts its CA key with, as `openssl pkcs8` options. */
export const SCRYPT_OPTIONS = ['-v2', 'aes-256-cbc', '-scrypt', '-scrypt_N', String(DEFAULT_SCRYPT.N), '-scrypt_r', String(DEFAULT_SCRYPT.r), '-scrypt_p', String(DEFAULT_SCRYPT.p)];
export const SCRYPT_NOTE = `Every CA key, pocketca's and the ones openssl and easy-rsa use, is PKCS#8 encrypted with PBES2, scrypt N=${DEFAULT_SCRYPT.N} r=${DEFAULT_SCRYPT.r} p=${DEFAULT_SCRYPT.p} and AES-256-CBC (openssl's copies by \`openssl pkcs8 -topk8 ${SCRYPT_OPTIONS.join(' ')}\`, checked against pocketca's own file).`;

/** The scrypt parameters of an encrypted PKCS#8 PEM, or a description of what it is instead. */
function scryptOf(path: string): string {
  const der = fromPem(readFileSync(path, 'latin1'), ['ENCRYPTED PRIVATE KEY']);
  const params = der && readScryptEncryption(der);
  return params ? `scrypt N=${params.N} r=${params.r} p=${params.p} AES-256-CBC` : 'not PBES2/scrypt/AES-256-CBC';
}

/**
 * Encrypt the key at `from` (passphrase in ws.passFile) to `to` with openssl,
 * scrypt and AES-256-CBC with pocketca's parameters, and check that both
 * files say the same parameters: the contenders pay the same KDF.
 */
export function scryptCopy(ws: Workspace, from: string, to: string, pocketcaKey: string): void {
  const tmp = `${to}.tmp`;
  runOnce(openssl(['pkcs8', '-topk8', '-in', from, '-passin', `file:${ws.passFile}`, ...SCRYPT_OPTIONS, '-passout', `file:${ws.passOutFile}`, '-out', tmp]));
  const [ours, theirs] = [scryptOf(pocketcaKey), scryptOf(tmp)];
  if (ours !== theirs || !ours.startsWith('scrypt')) throw new Error(`the openssl CA key is ${theirs}, pocketca's ${ours}`);
  chmodSync(tmp, 0o600);
  renameSync(tmp, to);
}

/** pocketca's CA key of `home`, encrypted again by openssl (same key, same parameters, its own salt). */
export function opensslCaKey(ws: Workspace, home: string): string {
  const path = join(home, '..', `${home.split('/').pop()}-openssl-ca.key.pem`);
  scryptCopy(ws, join(home, 'ca.key.pem'), path, join(home, 'ca.key.pem'));
  return path;
}

/**
 * An easy-rsa PKI with an RSA-3072 CA. easy-rsa encrypts its key with
 * AES-256 and PBKDF2 (`openssl genpkey`); it is encrypted again with scrypt
 * as pocketca's is, so both pay the same KDF to sign (`pocketcaKey`: a
 * pocketca CA key to compare the parameters with).
 */
export function initEasyrsaPki(ws: Workspace, name: string, pocketcaKey: string): string {
  const pki = ws.path(name);
  runOnce(easyrsa(pki, ['init-pki']));
  runOnce(easyrsa(pki, [`--passin=file:${ws.passFile}`, `--passout=file:${ws.passOutFile}`, '--keysize=3072', `--req-cn=bench ${name}`, 'build-ca']));
  if (!existsSync(join(pki, 'ca.crt'))) throw new Error(`easy-rsa did not build a CA in ${pki}`);
  const key = join(pki, 'private', 'ca.key');
  scryptCopy(ws, key, key, pocketcaKey);
  return pki;
}

/**
 * The extensions of a pocketca client certificate, for `openssl x509 -req
 * -extfile`: an EC leaf's keyUsage is digitalSignature only (SPEC "Key types").
 */
export function writeClientExtensions(ws: Workspace, keyType: 'rsa' | 'ec' = 'rsa'): string {
  const path = ws.path(`client-ext-${keyType}.cnf`);
  writeFileSync(
    path,
    [
      '[client]',
      'basicConstraints = critical, CA:FALSE',
      `keyUsage = critical, ${keyType === 'rsa' ? 'digitalSignature, keyEncipherment' : 'digitalSignature'}`,
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * An OpenSSL `ca` configuration whose database is `index` and whose CRLs
 * carry what pocketca's do: SHA-256, the CRL number, the authority key
 * identifier, `days` of validity.
 */
export function writeOpensslCaConfig(dir: string, index: string, days: number): string {
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(`${index}.attr`, 'unique_subject = no\n');
  const path = join(dir, 'openssl-ca.cnf');
  writeFileSync(
    path,
    [
      '[ca]',
      'default_ca = bench',
      '[bench]',
      `database = ${index}`,
      `crlnumber = ${join(dir, 'crlnumber')}`,
      'default_md = sha256',
      `default_crl_days = ${days}`,
      'crl_extensions = crl_ext',
      '[crl_ext]',
      'authorityKeyIdentifier = keyid:always',
      '',
    ].join('\n'),
  );
  return path;
}
