/**
 * The elliptic curves pocketca makes keys on (src/ca/key-types.ts) and
 * accepts in a CSR (src/ca/public-key.ts): one list, so `sign` cannot accept
 * a curve `issue` does not make, or the other way round. P-256 and P-384
 * only: iOS takes EC identities on those two, and the Home Assistant iOS app
 * fails on P-521.
 */
export const CURVE_DETAILS = {
  /** RFC 5480 §2.1.1.1 secp256r1; OpenSSL's prime256v1. */
  'P-256': { oid: '1.2.840.10045.3.1.7', openssl: 'prime256v1', bytes: 32 },
  /** RFC 5480 §2.1.1.1 secp384r1. */
  'P-384': { oid: '1.3.132.0.34', openssl: 'secp384r1', bytes: 48 },
} as const;

export type Curve = keyof typeof CURVE_DETAILS;

export const CURVES: readonly Curve[] = Object.keys(CURVE_DETAILS) as Curve[];

/** The curve of a named-curve OID, or undefined for one pocketca does not take. */
export const curveOfOid = (curveOid: string): Curve | undefined => CURVES.find((c) => CURVE_DETAILS[c].oid === curveOid);
