/**
 * Every CA signature goes through Node's native crypto with a KeyObject that
 * is decrypted once per process: RSA PKCS#1 v1.5 with SHA-256, or ECDSA
 * (src/ca/key-types.ts picks the algorithm from the key). node-forge
 * builds structures (PKCS#12, PKCS#7) but its pure-JavaScript RSA takes
 * ~120 ms per signature with a 3072-bit key, against a few ms here.
 */
import { createSign, sign, type KeyObject } from 'node:crypto';
import { bitString, DER_TAGS, derHeader } from '../formats/der';
import { assembleSigned } from '../formats/x509';
import { signatureAlgorithmOf, signWithKey } from './key-types';

export function signSha256Rsa(key: KeyObject, tbs: Buffer): Buffer {
  return sign('sha256', tbs, key);
}

/**
 * Sign a TBSCertificate or TBSCertList and return the whole signed structure.
 * The TBS must name the same algorithm (signatureAlgorithmOf(key)) inside:
 * RFC 5280 §4.1.1.2 wants the two identical.
 */
export function signTbs(key: KeyObject, tbs: Buffer): Buffer {
  return assembleSigned(tbs, signWithKey(key, tbs), signatureAlgorithmOf(key).der);
}

/**
 * signTbs for a TBS given as buffers in order (encodeTbsCrlParts): the
 * signature is computed over them as a stream and the signed structure is
 * returned as buffers too, the TBS's own never copied. The same bytes as
 * signTbs(key, Buffer.concat(tbsParts)).
 */
export function signTbsParts(key: KeyObject, tbsParts: readonly Buffer[]): Buffer[] {
  const algorithm = signatureAlgorithmOf(key);
  const signer = createSign(algorithm.digest);
  for (const part of tbsParts) signer.update(part);
  const tail = [algorithm.der, bitString(signer.sign({ key, dsaEncoding: 'der' }))];
  return [derHeader(DER_TAGS.SEQUENCE, [...tbsParts, ...tail]), ...tbsParts, ...tail];
}
