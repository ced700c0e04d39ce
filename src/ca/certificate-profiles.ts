/**
 * What each kind of certificate pocketca signs looks like. Pure: time and
 * serial come in as parameters.
 */
import { UsageError } from '../errors';
import {
  authorityKeyIdentifier,
  basicConstraints,
  encodeTbsCertificate,
  extKeyUsage,
  keyIdentifierOf,
  keyUsage,
  OID,
  subjectAltName,
  subjectKeyIdentifier,
  type Extension,
  type KeyUsageBit,
  type ParsedCertificate,
  type SubjectAltNames,
} from '../formats/x509';
import { KeyNotAcceptedError } from '../errors';
import { canonicalPublicKey } from './public-key';
import { createPublicKey } from 'node:crypto';
import { leafKeyUsage, signatureAlgorithmOf } from './key-types';
import { hasSans } from './subject-alt-names';
import type { Subject } from './subject';

export type ProfileName = 'client' | 'server' | 'profile-signer';

/**
 * Apple refuses TLS server certificates valid for more than 825 days, even
 * from a private root (https://support.apple.com/en-us/103769).
 */
export const MAX_SERVER_DAYS = 825;
export const MAX_DAYS = 36500;
export const DEFAULT_DAYS: Record<ProfileName, number> = { client: 365, server: 398, 'profile-signer': 825 };

/**
 * Backdating notBefore absorbs clock skew on phones and proxies; without it a
 * freshly issued certificate can be "not yet valid" for a minute.
 */
export const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface EndEntityParams {
  profile: ProfileName;
  /** From `buildSubject`/`subjectForCsr` (src/ca/subject.ts): never a CSR's bytes. */
  subject: Subject;
  /** Must be in the canonical form `canonicalPublicKey` returns (src/ca/public-key.ts). */
  spkiDer: Buffer;
  /** 'rsa', 'ec' or 'ed25519': keyEncipherment only makes sense for RSA (RFC 5280 §4.2.1.3). */
  keyType: string;
  sans: SubjectAltNames;
  days: number;
  now: Date;
  serial: Buffer;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/**
 * Whole seconds: certificates carry no fractions (RFC 5280 §4.1.2.5.1), and
 * the record must match them. notAfter - notBefore is exactly `days`, so the
 * backdating never pushes a server certificate past Apple's 825-day limit.
 */
export function validityFor(now: Date, days: number): Validity {
  const notBefore = Math.floor(now.getTime() / 1000) * 1000 - BACKDATE_MS;
  return { notBefore: new Date(notBefore), notAfter: new Date(notBefore + days * DAY_MS) };
}

export function checkDays(days: number, profile: ProfileName): void {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw new UsageError(`--days must be a whole number from 1 to ${MAX_DAYS}`);
  if (profile === 'server' && days > MAX_SERVER_DAYS) {
    throw new UsageError(
      `a server certificate may be valid for at most ${MAX_SERVER_DAYS} days`,
      'Apple devices refuse longer TLS server certificates, even from a private root; use --days 825 or less',
    );
  }
}

function usagesFor(profile: ProfileName, keyType: string): { bits: KeyUsageBit[]; ekus: string[] } {
  switch (profile) {
    case 'client':
      return { bits: leafKeyUsage(keyType), ekus: [OID.clientAuth] };
    case 'server':
      return { bits: leafKeyUsage(keyType), ekus: [OID.serverAuth] };
    case 'profile-signer':
      // `openssl cms -verify` checks the S/MIME signing purpose by default: it
      // needs emailProtection when an EKU is present.
      return { bits: ['digitalSignature'], ekus: [OID.emailProtection, OID.codeSigning] };
  }
}

/** The TBSCertificate of an end-entity certificate under `ca`. Always CA:FALSE. */
export function buildEndEntityTbs(ca: ParsedCertificate, p: EndEntityParams): Buffer {
  checkDays(p.days, p.profile);
  if (p.profile === 'server' && !hasSans(p.sans)) {
    throw new UsageError('a server certificate needs at least one subject alternative name', 'add --dns NAME and/or --ip ADDRESS');
  }
  const validity = validityFor(p.now, p.days);
  const caNotAfter = new Date(ca.x509.validTo);
  if (validity.notAfter > caNotAfter) {
    throw new UsageError(
      `the certificate would outlive the CA, which expires ${caNotAfter.toISOString()}`,
      `use --days ${Math.max(1, Math.floor((caNotAfter.getTime() - p.now.getTime()) / DAY_MS))} or less`,
    );
  }
  // Defence in depth: whatever the caller checked, only an accepted key in
  // its canonical encoding is certified.
  const key = canonicalPublicKey(p.spkiDer);
  if (!key.spkiDer.equals(p.spkiDer) || key.kind !== p.keyType) throw new KeyNotAcceptedError(`the ${p.keyType} public key is not in its canonical encoding`);
  const { bits, ekus } = usagesFor(p.profile, p.keyType);
  const extensions: Extension[] = [
    basicConstraints(false),
    keyUsage(bits),
    extKeyUsage(ekus),
    subjectKeyIdentifier(keyIdentifierOf(p.spkiDer)),
    authorityKeyIdentifier(ca.keyId),
  ];
  if (hasSans(p.sans)) extensions.push(subjectAltName(p.sans));
  return encodeTbsCertificate({
    serial: p.serial,
    issuerDer: ca.subjectDer,
    subjectDer: p.subject.der,
    ...validity,
    spkiDer: p.spkiDer,
    extensions,
    signatureAlgorithm: signatureAlgorithmOf(ca.publicKey).der,
  });
}

export interface RootParams {
  subjectDer: Buffer;
  spkiDer: Buffer;
  days: number;
  now: Date;
  serial: Buffer;
}

/**
 * The self-signed root: CA:TRUE with pathLenConstraint 0 (it signs end
 * entities only, as mkcert's root does), keyCertSign + cRLSign.
 */
export function buildRootTbs(p: RootParams): Buffer {
  if (!Number.isInteger(p.days) || p.days < 1 || p.days > MAX_DAYS) throw new UsageError(`--days must be a whole number from 1 to ${MAX_DAYS}`);
  const keyId = keyIdentifierOf(p.spkiDer);
  return encodeTbsCertificate({
    serial: p.serial,
    issuerDer: p.subjectDer,
    subjectDer: p.subjectDer,
    ...validityFor(p.now, p.days),
    spkiDer: p.spkiDer,
    signatureAlgorithm: signatureAlgorithmOf(createPublicKey({ key: p.spkiDer, format: 'der', type: 'spki' })).der,
    extensions: [basicConstraints(true, 0), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(keyId), authorityKeyIdentifier(keyId)],
  });
}
