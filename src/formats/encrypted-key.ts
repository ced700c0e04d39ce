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
import { createCipheriv, createPrivateKey, scryptSync, type KeyObject } from 'node:crypto';
import { WrongPassphraseError } from '../errors';
import { octetString, oid, sequence, smallInteger } from './der';
import { toPem } from './pem';

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_SCRYPT = '1.3.6.1.4.1.11591.4.11';
const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

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

/** Decrypt an encrypted PKCS#8 PEM; a wrong passphrase is WrongPassphraseError. */
export function decryptPrivateKey(pem: string | Buffer, passphrase: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const message = String((error as Error).message);
    if (/BAD_DECRYPT|bad decrypt|DECODER|unsupported|wrong|interrupted or cancelled/i.test(code + ' ' + message)) {
      throw new WrongPassphraseError();
    }
    throw error;
  }
}
