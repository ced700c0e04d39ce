/**
 * node-forge, loaded on first use. It takes ~50 ms to load, more than
 * anything else at start-up, and only some paths need it: reading PKCS#12
 * files and signing profiles (CMS). `issue` and `sign` run without it (issue 6).
 * Import its types with `import type Forge from 'node-forge'`.
 */
import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
import type Forge from 'node-forge';
import { nullValue, octetString, oid, sequence } from './der';

export function loadForge(): typeof Forge {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node-forge') as typeof Forge;
}

/** Digest algorithm OIDs by forge's names, for DigestInfo (RFC 8017 §9.2 note 1). */
const DIGEST_OIDS: Record<string, string> = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

/**
 * A stand-in for a forge RSA private key whose `sign(md)` is native: it wraps
 * forge's digest in a DigestInfo and applies the PKCS#1 v1.5 private-key
 * operation (RFC 8017 §8.2.1), which is what forge itself computes.
 */
export function forgeNativeSigner(key: KeyObject): { sign(md: Forge.md.MessageDigest): string } {
  return {
    sign(md: Forge.md.MessageDigest): string {
      // forge is only a type here: loading it would cost every command that signs ~50 ms (issue 6).
      const digestOid = DIGEST_OIDS[md.algorithm];
      if (!digestOid) throw new RangeError(`unsupported digest ${md.algorithm}`);
      const der = sequence(sequence(oid(digestOid), nullValue()), octetString(Buffer.from(md.digest().getBytes(), 'binary')));
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, der).toString('binary');
    },
  };
}
