/**
 * Every CA signature goes through Node's native crypto with a KeyObject that
 * is decrypted once per process: RSA PKCS#1 v1.5 with SHA-256, or ECDSA
 * (src/ca/key-types.ts picks the algorithm from the key). node-forge
 * builds structures (PKCS#12, PKCS#7) but its pure-JavaScript RSA takes
 * ~120 ms per signature with a 3072-bit key, against a few ms here.
 */
import { constants, createSign, privateEncrypt, sign, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { bitString, DER_TAGS, derHeader, nullValue, octetString, oid, sequence } from '../formats/der';
import { assembleSigned } from '../formats/x509';
import { signatureAlgorithmOf, signWithKey } from './key-types';

/** Digest algorithm OIDs by forge's names, for DigestInfo (RFC 8017 §9.2 note 1). */
const DIGEST_OIDS: Record<string, string> = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

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

/**
 * A stand-in for a forge RSA private key whose `sign(md)` is native: it wraps
 * forge's digest in a DigestInfo and applies the PKCS#1 v1.5 private-key
 * operation (RFC 8017 §8.2.1), which is what forge itself computes.
 */
export function forgeNativeSigner(key: KeyObject): { sign(md: forge.md.MessageDigest): string } {
  return {
    sign(md: forge.md.MessageDigest): string {
      // forge is only a type here: loading it would cost every command that signs ~50 ms (issue 6).
      const digestOid = DIGEST_OIDS[md.algorithm];
      if (!digestOid) throw new RangeError(`unsupported digest ${md.algorithm}`);
      const der = sequence(sequence(oid(digestOid), nullValue()), octetString(Buffer.from(md.digest().getBytes(), 'binary')));
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, der).toString('binary');
    },
  };
}
