/**
 * The CA key at rest: an encrypted PKCS#8 PEM (RFC 5958 EncryptedPrivateKeyInfo)
 * using PBES2 (RFC 8018 §6.2) with scrypt (RFC 7914 §7) and AES-256-CBC.
 *
 * Why not Node's `KeyObject.export({cipher})`: it uses PBKDF2 with OpenSSL's
 * default 2,048 iterations, cheap to brute-force on a stolen USB stick. scrypt
 * with N=2^14, r=8, p=1 is what `openssl pkcs8 -topk8 -scrypt` writes; OpenSSL
 * (so `openssl pkey -passin` and Node's createPrivateKey) reads it back, and
 * its 32 MiB decoding limit rules out a larger N.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, scrypt, scryptSync, type KeyObject } from 'node:crypto';
import { KeyDerivationTooCostlyError, WrongPassphraseError } from '../errors';
import { octetString, oid, sequence, smallInteger } from './der';
import { content, DerError, readChildren, readOid, readTlv, type Tlv } from './der-reader';
import { fromPem, toPem } from './pem';

/** The algorithms of PBES2 (RFC 8018 App. A.2, A.4, B.2.5) and scrypt (RFC 7914 §7). */
export const KEY_ENCRYPTION_OIDS = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  scrypt: '1.3.6.1.4.1.11591.4.11',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;
const { pbes2: OID_PBES2, pbkdf2: OID_PBKDF2, scrypt: OID_SCRYPT, aes256Cbc: OID_AES256_CBC } = KEY_ENCRYPTION_OIDS;
/** PBES1 (RFC 8018 §6.1, pbeWith<MD2|MD5|SHA1>And<DES|RC2>-CBC) and PKCS#12 PBE (RFC 7292 App. C): { salt, iterationCount }. */
const OID_PBES1_PREFIX = '1.2.840.113549.1.5.';
const OID_PKCS12_PBE_PREFIX = '1.2.840.113549.1.12.1.';

/**
 * The most work a key file may ask for (SPEC "Hostile key files"). OpenSSL
 * and Node bound scrypt's memory but not its time: p lanes run one after
 * another, so p = 4096 at N = 2^14 is minutes, and PBKDF2 with 2^31 - 1
 * iterations is hours. pocketca's own keys use N = 2^14, r = 8, p = 1.
 */
export const KDF_LIMITS = {
  /** scrypt CPU/memory cost N. */
  scryptN: 2 ** 20,
  /** scrypt block size r. */
  scryptR: 32,
  /** scrypt parallelisation p. */
  scryptP: 16,
  /** PBKDF2 (and PBES1, PKCS#12 PBE) iteration count. */
  iterations: 10_000_000,
} as const;

export interface ScryptParams {
  /** CPU/memory cost; default 2^14 (OpenSSL's `-scrypt` default). */
  N: number;
  /** Block size; default 8. */
  r: number;
  /** Parallelisation; default 1. */
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 14, r: 8, p: 1 };

/**
 * Encrypt a private key as PEM. `randomBytes` is passed in so tests can fix it.
 * The plaintext PKCS#8 exists only in memory.
 */
export function encryptPrivateKey(
  key: KeyObject,
  passphrase: string,
  randomBytes: (n: number) => Buffer,
  params: ScryptParams = DEFAULT_SCRYPT,
): string {
  const plain = key.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const derived = scryptSync(Buffer.from(passphrase, 'utf8'), salt, 32, {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r,
  });
  const cipher = createCipheriv('aes-256-cbc', derived, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  plain.fill(0);
  derived.fill(0);
  const der = sequence(
    sequence(
      oid(OID_PBES2),
      sequence(
        sequence(
          oid(OID_SCRYPT),
          sequence(octetString(salt), smallInteger(params.N), smallInteger(params.r), smallInteger(params.p), smallInteger(32)),
        ),
        sequence(oid(OID_AES256_CBC), octetString(iv)),
      ),
    ),
    octetString(encrypted),
  );
  return toPem('ENCRYPTED PRIVATE KEY', der);
}

/**
 * An INTEGER's value, any size (a hostile file may say 2^64). Zero and
 * negative values are malformed: no KDF takes them.
 */
function positiveInteger(der: Buffer, tlv: Tlv | undefined, what: string): bigint {
  if (tlv?.tag !== 0x02) throw new DerError(`${what} is not an INTEGER`);
  const bytes = content(der, tlv);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) throw new DerError(`${what} is not a positive INTEGER`);
  const value = BigInt(`0x${bytes.toString('hex')}`);
  if (value === 0n) throw new DerError(`${what} is zero`);
  return value;
}

function bounded(der: Buffer, tlv: Tlv | undefined, what: string, limit: number): void {
  const value = positiveInteger(der, tlv, what);
  if (value > BigInt(limit)) {
    throw new KeyDerivationTooCostlyError(`${what} is ${value}, above the limit of ${limit}`);
  }
}

/**
 * Check an EncryptedPrivateKeyInfo's key derivation against KDF_LIMITS before
 * anything derives a key from it: KeyDerivationTooCostlyError naming the
 * parameter. Only what OpenSSL can decrypt passes: PBES2 with scrypt or
 * PBKDF2, PBES1 and PKCS#12 PBE; any other algorithm, or parameters that do
 * not parse, is a DerError (a damaged file), never handed on unchecked.
 */
export function checkKeyDerivation(der: Buffer): void {
  const outer = readTlv(der, 0);
  const [alg, data] = readChildren(der, outer);
  if (outer.tag !== 0x30 || outer.end !== der.length || alg?.tag !== 0x30 || data?.tag !== 0x04) throw new DerError('not an EncryptedPrivateKeyInfo');
  const [algOid, params] = readChildren(der, alg);
  if (algOid?.tag !== 0x06 || params?.tag !== 0x30) throw new DerError('no encryption algorithm');
  const algorithm = readOid(der, algOid);
  if (algorithm.startsWith(OID_PBES1_PREFIX) || algorithm.startsWith(OID_PKCS12_PBE_PREFIX)) {
    if (algorithm === OID_PBES2) return checkPbes2(der, params);
    // PBEParameter and pkcs-12PbeParams: SEQUENCE { salt OCTET STRING, iterationCount INTEGER }.
    const [salt, iterations] = readChildren(der, params);
    if (salt?.tag !== 0x04) throw new DerError('no PBE salt');
    return bounded(der, iterations, 'PBE iteration count', KDF_LIMITS.iterations);
  }
  throw new DerError(`unsupported key encryption ${algorithm}`);
}

/** PBES2-params { keyDerivationFunc, encryptionScheme } (RFC 8018 App. A.4). */
function checkPbes2(der: Buffer, params: Tlv): void {
  const [kdf, enc] = readChildren(der, params);
  if (kdf?.tag !== 0x30 || enc?.tag !== 0x30) throw new DerError('malformed PBES2 parameters');
  const [kdfOid, kdfParams] = readChildren(der, kdf);
  if (kdfOid?.tag !== 0x06 || kdfParams?.tag !== 0x30) throw new DerError('malformed PBES2 key derivation');
  const name = readOid(der, kdfOid);
  const fields = readChildren(der, kdfParams);
  if (name === OID_SCRYPT) {
    // scrypt-params { salt, costParameter, blockSize, parallelizationParameter, keyLength OPTIONAL } (RFC 7914 §7.1)
    const [salt, n, r, p] = fields;
    if (salt?.tag !== 0x04) throw new DerError('no scrypt salt');
    bounded(der, n, 'scrypt parameter N', KDF_LIMITS.scryptN);
    bounded(der, r, 'scrypt parameter r', KDF_LIMITS.scryptR);
    bounded(der, p, 'scrypt parameter p', KDF_LIMITS.scryptP);
  } else if (name === OID_PBKDF2) {
    // PBKDF2-params { salt, iterationCount, keyLength OPTIONAL, prf DEFAULT } (RFC 8018 App. A.2)
    bounded(der, fields[1], 'PBKDF2 iteration count', KDF_LIMITS.iterations);
  } else throw new DerError(`unsupported key derivation ${name}`);
}

/** The DER of an encrypted PKCS#8 PEM, its key derivation checked (checkKeyDerivation). */
function checkedDer(pem: string | Buffer): Buffer {
  const der = fromPem(typeof pem === 'string' ? pem : pem.toString('latin1'), ['ENCRYPTED PRIVATE KEY']);
  if (!der) throw new DerError('no ENCRYPTED PRIVATE KEY block');
  checkKeyDerivation(der);
  return der;
}

/**
 * Decrypt an encrypted PKCS#8 PEM; a wrong passphrase is WrongPassphraseError.
 * OpenSSL gets the very DER block whose parameters were checked, not the PEM
 * (in which it might find another block).
 */
export function decryptPrivateKey(pem: string | Buffer, passphrase: string): KeyObject {
  return decryptCheckedDer(checkedDer(pem), passphrase);
}

function decryptCheckedDer(der: Buffer, passphrase: string): KeyObject {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8', passphrase });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const message = String((error as Error).message);
    if (/BAD_DECRYPT|bad decrypt|DECODER|unsupported|wrong|interrupted or cancelled/i.test(code + ' ' + message)) {
      throw new WrongPassphraseError();
    }
    throw error;
  }
}

/** What PBES2 with scrypt and AES-256-CBC needs to decrypt (RFC 8018 §6.2, RFC 7914 §7.1). */
export interface ScryptEncryption extends ScryptParams {
  salt: Buffer;
  iv: Buffer;
  encrypted: Buffer;
}

/** scrypt's memory is 128·N·r bytes; above this (OpenSSL decodes up to 32 MiB) it is left to OpenSSL to refuse. */
const MAX_SCRYPT_MEMORY = 64 * 1024 * 1024;

function smallInt(der: Buffer, tlv: Tlv | undefined): number | undefined {
  if (tlv?.tag !== 0x02) return undefined;
  const bytes = content(der, tlv);
  if (bytes.length === 0 || bytes.length > 6 || (bytes[0]! & 0x80) !== 0) return undefined;
  return bytes.readUIntBE(0, bytes.length);
}

/**
 * The parameters of an EncryptedPrivateKeyInfo protected with PBES2, scrypt
 * and AES-256-CBC (what pocketca and `openssl pkcs8 -scrypt` write), or
 * undefined for anything else, which OpenSSL then decrypts.
 */
export function readScryptEncryption(der: Buffer): ScryptEncryption | undefined {
  try {
    const outer = readTlv(der, 0);
    const [alg, data] = readChildren(der, outer);
    if (outer.end !== der.length || alg?.tag !== 0x30 || data?.tag !== 0x04) return undefined;
    const [algOid, pbes2] = readChildren(der, alg);
    if (algOid?.tag !== 0x06 || readOid(der, algOid) !== OID_PBES2 || pbes2?.tag !== 0x30) return undefined;
    const [kdf, enc] = readChildren(der, pbes2);
    if (kdf?.tag !== 0x30 || enc?.tag !== 0x30) return undefined;
    const [kdfOid, kdfParams] = readChildren(der, kdf);
    if (kdfOid?.tag !== 0x06 || readOid(der, kdfOid) !== OID_SCRYPT || kdfParams?.tag !== 0x30) return undefined;
    const [salt, n, r, p, keyLength, ...more] = readChildren(der, kdfParams);
    const [encOid, iv] = readChildren(der, enc);
    if (encOid?.tag !== 0x06 || readOid(der, encOid) !== OID_AES256_CBC || iv?.tag !== 0x04 || iv.end - iv.contentStart !== 16) return undefined;
    const params = { N: smallInt(der, n), r: smallInt(der, r), p: smallInt(der, p) };
    if (salt?.tag !== 0x04 || !params.N || !params.r || !params.p || more.length > 0) return undefined;
    if (keyLength && smallInt(der, keyLength) !== 32) return undefined;
    if (128 * params.N * params.r > MAX_SCRYPT_MEMORY) return undefined;
    return { N: params.N, r: params.r, p: params.p, salt: content(der, salt), iv: content(der, iv), encrypted: content(der, data) };
  } catch {
    return undefined;
  }
}

/**
 * decryptPrivateKey with scrypt on libuv's thread pool instead of the main
 * thread, so it can run while the program is still loading (issue 6). Keys
 * under another scheme are decrypted by OpenSSL, as before.
 */
export async function decryptPrivateKeyAsync(pem: string | Buffer, passphrase: string): Promise<KeyObject> {
  const der = checkedDer(pem);
  const params = readScryptEncryption(der);
  if (!params) return decryptCheckedDer(der, passphrase);
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(Buffer.from(passphrase, 'utf8'), params.salt, 32, { N: params.N, r: params.r, p: params.p, maxmem: MAX_SCRYPT_MEMORY + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
  let plain: Buffer | undefined;
  try {
    const decipher = createDecipheriv('aes-256-cbc', derived, params.iv);
    plain = Buffer.concat([decipher.update(params.encrypted), decipher.final()]);
    return createPrivateKey({ key: plain, format: 'der', type: 'pkcs8' });
  } catch {
    // Bad padding or no PKCS#8 inside: CBC without a MAC cannot tell a wrong key from damage.
    throw new WrongPassphraseError();
  } finally {
    derived.fill(0);
    plain?.fill(0);
  }
}
