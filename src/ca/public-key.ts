/**
 * Which public keys pocketca certifies, and in what encoding (SPEC "Trust
 * boundary": `sign` builds the subject itself). A key from a CSR is never
 * copied: it is parsed, checked, and re-encoded from its components, so the
 * certificate carries the one DER encoding that strict parsers (Go's
 * crypto/x509, used by Caddy and Traefik) accept.
 *
 * Accepted:
 * - RSA, modulus 2048-8192 bits, as rsaEncryption with NULL parameters
 *   (RFC 3279 §2.3.1: the parameters field MUST be NULL; Go refuses a key
 *   without them). The public exponent must be odd and 65537 <= e <= 2^31-1:
 *   FIPS 186-5 §5.4 asks for e > 2^16, and Go's crypto/rsa refuses e >= 2^31.
 * - ECDSA on P-256 or P-384, as id-ecPublicKey with the named curve OID
 *   (RFC 5480 §2.1.1: namedCurve only) and an uncompressed point (RFC 5480
 *   §2.2) that OpenSSL checked is on the curve.
 * - Ed25519, as id-Ed25519 without parameters and 32 key bytes (RFC 8410 §3, §4).
 * Anything else (RSA under 2048 bits, P-192, P-521, secp256k1, brainpool,
 * DSA, Ed448, RSASSA-PSS-only keys, explicit curve parameters) is refused
 * with a `KeyNotAcceptedError` (exit 2) that names what the key is.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { KeyNotAcceptedError } from '../errors';
import { bitString, nullValue, oid, sequence, unsignedInteger } from '../formats/der';
import { content, DerError, readChildren, readOid, readTlv, type Tlv } from '../formats/der-reader';
import { CURVE_DETAILS, curveOfOid, type Curve } from './curves';

export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 8192;
const RSA_MIN_EXPONENT = 65537n;
const RSA_MAX_EXPONENT = 2n ** 31n - 1n;

export type { Curve };

export type CanonicalPublicKey =
  | { kind: 'rsa'; bits: number; spkiDer: Buffer; keyObject: KeyObject }
  | { kind: 'ec'; curve: Curve; spkiDer: Buffer; keyObject: KeyObject }
  | { kind: 'ed25519'; spkiDer: Buffer; keyObject: KeyObject };

const OID_RSA = '1.2.840.113549.1.1.1';
const OID_EC = '1.2.840.10045.2.1';
const OID_ED25519 = '1.3.101.112';

/** What a refused key is, by its algorithm or curve OID, for the error message. */
const KNOWN_NAMES: Record<string, string> = {
  '1.2.840.10040.4.1': 'DSA',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.3.101.113': 'Ed448',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.2.840.10046.2.1': 'Diffie-Hellman',
  '1.2.840.10045.3.1.1': 'P-192',
  '1.3.132.0.33': 'P-224',
  '1.3.132.0.35': 'P-521',
  '1.3.132.0.10': 'secp256k1',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
  '1.3.36.3.3.2.8.1.1.11': 'brainpoolP384r1',
  '1.3.36.3.3.2.8.1.1.13': 'brainpoolP512r1',
  '1.2.156.10197.1.301': 'SM2',
};

const ACCEPTED = `RSA ${RSA_MIN_BITS}-${RSA_MAX_BITS} bits, ECDSA P-256 or P-384, or Ed25519`;
const HINT = 'make the key with e.g. `openssl req -new -newkey rsa:3072 ...`, `-newkey ec -pkeyopt ec_paramgen_curve:P-256` or `-newkey ed25519`';

function refuse(what: string): never {
  throw new KeyNotAcceptedError(`${what}: pocketca certifies ${ACCEPTED}`, HINT);
}

function malformed(detail: string): never {
  throw new KeyNotAcceptedError(`the public key is malformed (${detail})`, HINT);
}

function spki(algorithm: Buffer, key: Buffer): Buffer {
  return sequence(algorithm, bitString(key));
}

function load(spkiDer: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch (error) {
    return malformed(`OpenSSL cannot read it: ${(error as Error).message.split('\n')[0]}`);
  }
}

function unsignedValue(buf: Buffer, t: Tlv, what: string): bigint {
  if (t.tag !== 0x02) malformed(`${what} is not an INTEGER`);
  const bytes = content(buf, t);
  if (bytes.length === 0) malformed(`${what} is empty`);
  if (bytes[0]! & 0x80) malformed(`${what} is negative`);
  return BigInt('0x' + bytes.toString('hex'));
}

function bigintBytes(n: bigint): Buffer {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
}

function canonicalRsa(params: Tlv[], key: Buffer): CanonicalPublicKey {
  // RFC 3279 §2.3.1: NULL. An absent parameters field is read (some encoders
  // drop it) but never written.
  if (params.length > 1 || (params[0] && (params[0].tag !== 0x05 || params[0].end !== params[0].contentStart))) {
    malformed('rsaEncryption parameters other than NULL');
  }
  const outer = readTlv(key, 0);
  if (outer.tag !== 0x30 || outer.end !== key.length) malformed('not an RSAPublicKey');
  const parts = readChildren(key, outer);
  if (parts.length !== 2) malformed('an RSAPublicKey has two integers');
  const n = unsignedValue(key, parts[0]!, 'the modulus');
  const e = unsignedValue(key, parts[1]!, 'the public exponent');
  const bits = n.toString(2).length;
  if (bits < RSA_MIN_BITS) refuse(`an RSA key of ${bits} bits is too weak`);
  if (bits > RSA_MAX_BITS) refuse(`an RSA key of ${bits} bits is too large`);
  if ((n & 1n) === 0n) malformed('an even RSA modulus');
  if ((e & 1n) === 0n || e < RSA_MIN_EXPONENT || e > RSA_MAX_EXPONENT) {
    refuse(`an RSA public exponent of ${e} is not accepted (it must be odd, from 65537 to 2^31-1)`);
  }
  const rsaPublicKey = sequence(unsignedInteger(bigintBytes(n)), unsignedInteger(bigintBytes(e)));
  const spkiDer = spki(sequence(oid(OID_RSA), nullValue()), rsaPublicKey);
  return { kind: 'rsa', bits, spkiDer, keyObject: load(spkiDer) };
}

function canonicalEc(params: Tlv[], der: Buffer, point: Buffer): CanonicalPublicKey {
  // RFC 5480 §2.1.1: namedCurve only; implicitCurve and specifiedCurve MUST NOT be used.
  if (params.length !== 1 || params[0]!.tag !== 0x06) refuse('an EC key with explicit or missing curve parameters');
  const curveOid = readOid(der, params[0]!);
  const name = curveOfOid(curveOid);
  if (!name) refuse(`an EC key on ${KNOWN_NAMES[curveOid] ?? `curve ${curveOid}`}`);
  const curve = { curve: name, bytes: CURVE_DETAILS[name].bytes };
  // 0x04 uncompressed, 0x02/0x03 compressed (SEC 1 §2.3.3); re-encoded uncompressed below.
  const form = point[0];
  const expected = form === 0x04 ? 1 + 2 * curve.bytes : form === 0x02 || form === 0x03 ? 1 + curve.bytes : -1;
  if (point.length !== expected) malformed(`not a ${curve.curve} point`);
  // OpenSSL refuses a point that is not on the curve (EC_POINT_oct2point).
  const parsed = load(spki(sequence(oid(OID_EC), oid(curveOid)), point));
  const jwk = parsed.export({ format: 'jwk' });
  if (jwk.crv !== curve.curve || !jwk.x || !jwk.y) malformed(`not a ${curve.curve} point`);
  const coordinate = (b64: string) => {
    const bytes = Buffer.from(b64, 'base64url');
    return Buffer.concat([Buffer.alloc(curve.bytes - bytes.length), bytes]);
  };
  const uncompressed = Buffer.concat([Buffer.from([0x04]), coordinate(jwk.x), coordinate(jwk.y)]);
  const spkiDer = spki(sequence(oid(OID_EC), oid(curveOid)), uncompressed);
  return { kind: 'ec', curve: curve.curve, spkiDer, keyObject: load(spkiDer) };
}

function canonicalEd25519(params: Tlv[], key: Buffer): CanonicalPublicKey {
  // RFC 8410 §3: the parameters MUST be absent.
  if (params.length !== 0) malformed('Ed25519 with parameters');
  if (key.length !== 32) malformed('an Ed25519 key is 32 bytes');
  const spkiDer = spki(sequence(oid(OID_ED25519)), key);
  return { kind: 'ed25519', spkiDer, keyObject: load(spkiDer) };
}

/**
 * Check a SubjectPublicKeyInfo (DER) against what pocketca certifies and
 * return it re-encoded from its parsed components. Throws
 * KeyNotAcceptedError (exit 2) for anything else.
 */
export function canonicalPublicKey(spkiDer: Buffer): CanonicalPublicKey {
  try {
    const outer = readTlv(spkiDer, 0);
    if (outer.tag !== 0x30 || outer.end !== spkiDer.length) malformed('not a SubjectPublicKeyInfo');
    const [algorithm, bits, ...rest] = readChildren(spkiDer, outer);
    if (!algorithm || algorithm.tag !== 0x30 || !bits || bits.tag !== 0x03 || rest.length) malformed('not a SubjectPublicKeyInfo');
    const [algOid, ...params] = readChildren(spkiDer, algorithm);
    if (!algOid || algOid.tag !== 0x06) malformed('no algorithm');
    const bitsContent = content(spkiDer, bits);
    if (bitsContent.length < 2 || bitsContent[0] !== 0) malformed('the key BIT STRING');
    const key = Buffer.from(bitsContent.subarray(1));
    const dotted = readOid(spkiDer, algOid);
    switch (dotted) {
      case OID_RSA:
        return canonicalRsa(params, key);
      case OID_EC:
        return canonicalEc(params, spkiDer, key);
      case OID_ED25519:
        return canonicalEd25519(params, key);
      default:
        return refuse(KNOWN_NAMES[dotted] ? `${/^[AEFHILMNORSX]/.test(KNOWN_NAMES[dotted]!) ? 'an' : 'a'} ${KNOWN_NAMES[dotted]} key is not accepted` : `a key of algorithm ${dotted} is not accepted`);
    }
  } catch (error) {
    if (error instanceof DerError) malformed(error.message);
    throw error;
  }
}

/** One line for people: `RSA 3072`, `EC P-256`, `Ed25519`. */
export function describePublicKey(key: CanonicalPublicKey): string {
  return key.kind === 'rsa' ? `RSA ${key.bits}` : key.kind === 'ec' ? `EC ${key.curve}` : 'Ed25519';
}
