/**
 * The one place where RSA and EC keys differ (STYLE "One key abstraction"):
 * how a key pair is made, which signature algorithm a CA key signs with,
 * which keyUsage bits a leaf gets. Commands and encoders ask this module
 * instead of testing the key type themselves.
 *
 * Curves: P-256 and P-384 only. iOS takes EC identities on those two; the
 * Home Assistant iOS app fails on P-521, and an Ed25519 PKCS#12 does not
 * import on iOS at all, so neither is offered (RSA stays the default).
 */
import { generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { UsageError } from '../errors';
import { oid, sequence } from '../formats/der';
import { SHA256_WITH_RSA as SHA256_WITH_RSA_DER, type KeyUsageBit } from '../formats/x509';
import { CURVE_DETAILS, CURVES, type Curve } from './curves';

export const KEY_TYPES = ['rsa', 'ec'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
/** The curves `sign` accepts in a CSR (src/ca/public-key.ts) are the ones pocketca makes: one list, src/ca/curves.ts. */
export { CURVES, type Curve };
export const RSA_SIZES = [2048, 3072, 4096] as const;

export type KeySpec = { type: 'rsa'; bits: number } | { type: 'ec'; curve: Curve };


/** What a CA key signs with: the digest and the AlgorithmIdentifier (DER) that names it. */
export interface SignatureAlgorithm {
  digest: 'sha256' | 'sha384';
  /** AlgorithmIdentifier: RSA with NULL parameters (RFC 4055 §5), ECDSA with none (RFC 5758 §3.2). */
  der: Buffer;
}

const SHA256_WITH_RSA: SignatureAlgorithm = { digest: 'sha256', der: SHA256_WITH_RSA_DER };
const ECDSA_WITH_SHA256: SignatureAlgorithm = { digest: 'sha256', der: sequence(oid('1.2.840.10045.4.3.2')) };
const ECDSA_WITH_SHA384: SignatureAlgorithm = { digest: 'sha384', der: sequence(oid('1.2.840.10045.4.3.3')) };

/** The user's --key-type/--curve/--key-size, completed from `base` (the old key, for renew) and the defaults. */
export interface KeyChoice {
  keyType?: string;
  curve?: string;
  keySize?: number;
}

/**
 * Resolve and check the key flags. RSA is the default; a flag that belongs
 * to the other type is an error rather than silently ignored.
 */
export function resolveKeySpec(choice: KeyChoice, defaultBits: number, base?: KeySpec): KeySpec {
  const type = choice.keyType ?? base?.type ?? 'rsa';
  if (!(KEY_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`--key-type must be rsa or ec, not ${JSON.stringify(type)}`);
  }
  if (type === 'rsa') {
    if (choice.curve !== undefined) throw new UsageError('--curve applies to EC keys', 'add --key-type ec, or drop --curve');
    const bits = choice.keySize ?? (base?.type === 'rsa' ? base.bits : defaultBits);
    if (!(RSA_SIZES as readonly number[]).includes(bits)) throw new UsageError('--key-size must be 2048, 3072 or 4096');
    return { type: 'rsa', bits };
  }
  if (choice.keySize !== undefined) throw new UsageError('--key-size applies to RSA keys', 'an EC key takes --curve P-256 or P-384');
  const curve = choice.curve ?? (base?.type === 'ec' ? base.curve : 'P-256');
  if (!(CURVES as readonly string[]).includes(curve)) {
    throw new UsageError(
      `--curve must be P-256 or P-384, not ${JSON.stringify(curve)}`,
      'iOS imports EC identities on P-256 and P-384 only (apps such as Home Assistant fail on P-521)',
    );
  }
  return { type: 'ec', curve: curve as Curve };
}

/** The spec of an existing key (private or public), or undefined for a type pocketca does not make. */
export function keySpecOf(key: KeyObject): KeySpec | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return { type: 'rsa', bits: details?.modulusLength ?? 2048 };
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES.find((c) => CURVE_DETAILS[c].openssl === details?.namedCurve);
    return curve ? { type: 'ec', curve } : undefined;
  }
  return undefined;
}

/** Words for messages: "RSA-2048", "EC P-256". */
export const describeKeySpec = (spec: KeySpec): string => (spec.type === 'rsa' ? `RSA-${spec.bits}` : `EC ${spec.curve}`);

/** A stable text for a spec, to key caches of keys generated early. */
export const keySpecId = (spec: KeySpec): string => (spec.type === 'rsa' ? `rsa-${spec.bits}` : `ec-${spec.curve}`);

/**
 * A new key pair's private key. Node runs generateKeyPair on libuv's thread
 * pool: RSA takes ~100-300 ms (a prime search with a long tail), P-256 well
 * under a millisecond.
 */
export function generateKey(spec: KeySpec): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, privateKey: KeyObject) => (error ? reject(error) : resolve(privateKey));
    if (spec.type === 'rsa') generateKeyPair('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 }, done);
    else generateKeyPair('ec', { namedCurve: CURVE_DETAILS[spec.curve].openssl, paramEncoding: 'named' }, done);
  });
}

/**
 * What a CA key (or its certificate's public key) signs with: SHA-256 with
 * RSA; ECDSA with the hash matched to the curve's strength, SHA-256 for
 * P-256 and SHA-384 for P-384 (RFC 5480 §4, NIST SP 800-57).
 */
export function signatureAlgorithmOf(key: KeyObject): SignatureAlgorithm {
  const spec = keySpecOf(key);
  if (!spec) throw new RangeError(`a CA key cannot be ${key.asymmetricKeyType}`);
  if (spec.type === 'rsa') return SHA256_WITH_RSA;
  return spec.curve === 'P-384' ? ECDSA_WITH_SHA384 : ECDSA_WITH_SHA256;
}

/**
 * Sign with a CA key: PKCS#1 v1.5 for RSA; for EC the DER-encoded
 * ECDSA-Sig-Value that certificates and CRLs carry in their BIT STRING
 * (RFC 3279 §2.2.3), not the raw r||s of JOSE.
 */
export function signWithKey(key: KeyObject, data: Buffer): Buffer {
  return sign(signatureAlgorithmOf(key).digest, data, { key, dsaEncoding: 'der' });
}

/** Verify what signWithKey made, with the matching public key. */
export function verifyWithKey(publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  return verify(signatureAlgorithmOf(publicKey).digest, data, { key: publicKey, dsaEncoding: 'der' }, signature);
}

/**
 * keyUsage of an end entity's key for TLS: an RSA key may also encipher
 * (RSA key transport, RFC 5280 §4.2.1.3); an EC key only signs (ECDHE
 * handshakes use its signature; keyAgreement would be for static ECDH).
 */
export function leafKeyUsage(keyType: string): KeyUsageBit[] {
  return keyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
}
