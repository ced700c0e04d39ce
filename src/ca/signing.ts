/**
 * Every CA signature goes through Node's native crypto with a KeyObject that
 * is decrypted once per process: RSA PKCS#1 v1.5 with SHA-256. node-forge
 * builds structures (PKCS#12, PKCS#7) but its pure-JavaScript RSA takes
 * ~120 ms per signature with a 3072-bit key, against a few ms here.
 */
import { constants, privateEncrypt, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { assembleSigned } from '../formats/x509';

export function signSha256Rsa(key: KeyObject, tbs: Buffer): Buffer {
  return sign('sha256', tbs, key);
}

/** Sign a TBSCertificate or TBSCertList and return the whole signed structure. */
export function signTbs(key: KeyObject, tbs: Buffer): Buffer {
  return assembleSigned(tbs, signSha256Rsa(key, tbs));
}

/**
 * A stand-in for a forge RSA private key whose `sign(md)` is native: it wraps
 * forge's digest in a DigestInfo and applies the PKCS#1 v1.5 private-key
 * operation (RFC 8017 §8.2.1), which is what forge itself computes.
 */
export function forgeNativeSigner(key: KeyObject): { sign(md: forge.md.MessageDigest): string } {
  return {
    sign(md: forge.md.MessageDigest): string {
      const digestInfo = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
        forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
          forge.asn1.create(
            forge.asn1.Class.UNIVERSAL,
            forge.asn1.Type.OID,
            false,
            forge.asn1.oidToDer((forge.pki.oids as Record<string, string>)[md.algorithm]!).getBytes(),
          ),
          forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, ''),
        ]),
        forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, md.digest().getBytes()),
      ]);
      const der = Buffer.from(forge.asn1.toDer(digestInfo).getBytes(), 'binary');
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, der).toString('binary');
    },
  };
}
