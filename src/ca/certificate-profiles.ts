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
  basicConstraintsOf,
  extensionOf,
  type SubjectAltNames,
} from '../formats/x509';
import { nameConstraintsExtension, parseNameConstraints, type NameConstraints } from '../formats/name-constraints';
import { checkNamesAllowed } from './name-constraints';
import { KeyNotAcceptedError, RootPathLengthError } from '../errors';
import { canonicalPublicKey } from './public-key';
import { createPublicKey } from 'node:crypto';
import { leafKeyUsage, signatureAlgorithmOf } from './key-types';
import { hasSans } from './subject-alt-names';
import type { Subject } from './subject';

export type ProfileName = 'client' | 'server' | 'profile-signer' | 'intermediate';

/**
 * Apple refuses TLS server certificates valid for more than 825 days, even
 * from a private root (https://support.apple.com/en-us/103769).
 */
export const MAX_SERVER_DAYS = 825;
export const MAX_DAYS = 36500;
export const DEFAULT_DAYS: Record<ProfileName, number> = { client: 365, server: 398, 'profile-signer': 825, intermediate: 1825 };

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
    case 'intermediate':
      return { bits: ['keyCertSign', 'cRLSign'], ekus: [] };
    case 'profile-signer':
      // `openssl cms -verify` checks the S/MIME signing purpose by default: it
      // needs emailProtection when an EKU is present.
      return { bits: ['digitalSignature'], ekus: [OID.emailProtection, OID.codeSigning] };
  }
}

/** Days from `now` to the CA's notAfter, whole days rounded down. */
export function daysLeftOf(ca: ParsedCertificate, now: Date): number {
  return Math.floor((new Date(ca.x509.validTo).getTime() - now.getTime()) / DAY_MS);
}

function validityWithin(ca: ParsedCertificate, now: Date, days: number): Validity {
  const validity = validityFor(now, days);
  const caNotAfter = new Date(ca.x509.validTo);
  if (validity.notAfter > caNotAfter) {
    throw new UsageError(
      `the certificate would outlive the CA, which expires ${caNotAfter.toISOString()}`,
      `use --days ${Math.max(1, daysLeftOf(ca, now))} or less`,
    );
  }
  return validity;
}

/** Defence in depth: whatever the caller checked, only an accepted key in its canonical encoding is certified. */
function checkCanonicalKey(spkiDer: Buffer, keyType: string): void {
  const key = canonicalPublicKey(spkiDer);
  if (!key.spkiDer.equals(spkiDer) || key.kind !== keyType) throw new KeyNotAcceptedError(`the ${keyType} public key is not in its canonical encoding`);
}

/** The CA's own nameConstraints, if it has them (`init --permit-*`). */
export function caNameConstraints(ca: ParsedCertificate): NameConstraints | undefined {
  const ext = extensionOf(ca.der, OID.nameConstraints);
  return ext ? parseNameConstraints(ext.value) : undefined;
}

/**
 * What buildEndEntityTbs refuses that needs no key: the validity (the
 * profile's limit, not past the CA's notAfter at \`now\`), a server without
 * SANs, names outside the root's constraints. The commands run it before the
 * CA passphrase is asked (SPEC "Everyday use, second pass": a usage error is
 * reported as itself, never as a missing passphrase), \`scep\` before it
 * serves a profile, with \`now\` the latest time it may issue; the builder
 * runs it again. Returns the validity the certificate will have.
 */
export function checkEndEntity(ca: ParsedCertificate, p: Pick<EndEntityParams, 'profile' | 'sans' | 'days' | 'now'> & { commonName: string }): Validity {
  checkDays(p.days, p.profile);
  if (p.profile === 'server' && !hasSans(p.sans)) {
    throw new UsageError('a server certificate needs at least one subject alternative name', 'add --dns NAME and/or --ip ADDRESS');
  }
  const validity = validityWithin(ca, p.now, p.days);
  const constraints = caNameConstraints(ca);
  if (constraints) checkNamesAllowed(constraints, p.sans, p.commonName);
  return validity;
}

/** The TBSCertificate of an end-entity certificate under `ca`. Always CA:FALSE. */
export function buildEndEntityTbs(ca: ParsedCertificate, p: EndEntityParams): Buffer {
  const validity = checkEndEntity(ca, { ...p, commonName: p.subject.commonName });
  checkCanonicalKey(p.spkiDer, p.keyType);
  if (p.profile === 'intermediate') throw new RangeError('an intermediate is built by buildIntermediateTbs');
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

export interface IntermediateParams {
  /** From `subjectForCsr` (src/ca/subject.ts): exactly CN=<cn>. */
  subject: Subject;
  /** Canonical, from `canonicalPublicKey`. */
  spkiDer: Buffer;
  keyType: string;
  /** pathLenConstraint of the intermediate; 0 (it signs end entities only). */
  pathLen: number;
  days: number;
  now: Date;
  serial: Buffer;
}

/**
 * Refuses a root that may not sign a CA with this pathLen: RFC 5280 §4.2.1.9,
 * the root's pathLenConstraint counts the CA certificates that may follow it.
 * Roots made by `init` before the second release have pathLen 0.
 */
export function checkRootAllowsIntermediate(ca: ParsedCertificate, pathLen: number): void {
  if (!Number.isInteger(pathLen) || pathLen < 0 || pathLen > 8) throw new UsageError('--path-len must be a whole number from 0 to 8');
  const { pathLen: rootPathLen } = basicConstraintsOf(ca.der);
  if (rootPathLen !== undefined && pathLen + 1 > rootPathLen) {
    throw new RootPathLengthError(
      rootPathLen === 0
        ? 'this root has basicConstraints pathLen 0: it may sign end-entity certificates only, no intermediate CA'
        : `this root has basicConstraints pathLen ${rootPathLen}: an intermediate under it may have --path-len ${rootPathLen - 1} at most`,
      rootPathLen === 0
        ? 'roots made by `pocketca init` since the second release have pathLen 1: make a new root (`pocketca init --home NEW_HOME`), sign the intermediate there and move the devices over; a certificate cannot be changed in place'
        : `use --path-len ${rootPathLen - 1}`,
    );
  }
}

/** What buildIntermediateTbs refuses that needs no key (as checkEndEntity); returns the validity. */
export function checkIntermediate(ca: ParsedCertificate, p: Pick<IntermediateParams, 'pathLen' | 'days' | 'now'>): Validity {
  checkDays(p.days, 'intermediate');
  checkRootAllowsIntermediate(ca, p.pathLen);
  return validityWithin(ca, p.now, p.days);
}

/**
 * A subordinate CA for an online engine (SPEC "An offline root over an online
 * issuing tier"): basicConstraints critical CA:TRUE pathLen, keyUsage critical
 * keyCertSign + cRLSign, SKI/AKI, and the root's nameConstraints copied as
 * they are, so the intermediate's own certificate says what it may sign
 * (verifiers enforce the root's anyway, RFC 5280 §6.1.4).
 */
export function buildIntermediateTbs(ca: ParsedCertificate, p: IntermediateParams): Buffer {
  const validity = checkIntermediate(ca, p);
  checkCanonicalKey(p.spkiDer, p.keyType);
  const extensions: Extension[] = [
    basicConstraints(true, p.pathLen),
    keyUsage(['keyCertSign', 'cRLSign']),
    subjectKeyIdentifier(keyIdentifierOf(p.spkiDer)),
    authorityKeyIdentifier(ca.keyId),
  ];
  const constraints = extensionOf(ca.der, OID.nameConstraints);
  if (constraints) extensions.push(constraints);
  return encodeTbsCertificate({
    serial: p.serial,
    issuerDer: ca.subjectDer,
    subjectDer: p.subject.der,
    ...validity,
    spkiDer: p.spkiDer,
    signatureAlgorithm: signatureAlgorithmOf(ca.publicKey).der,
    extensions,
  });
}

export interface RootParams {
  subjectDer: Buffer;
  spkiDer: Buffer;
  days: number;
  now: Date;
  serial: Buffer;
  /** From `constraintsFromFlags`; none by default. */
  nameConstraints?: NameConstraints;
}

/**
 * The self-signed root: CA:TRUE with pathLenConstraint 1, so it can sign one
 * level of intermediate CAs for an online issuing tier (whose own pathLen is
 * 0), keyCertSign + cRLSign, and the name constraints `init --permit-*` set.
 */
export function buildRootTbs(p: RootParams): Buffer {
  if (!Number.isInteger(p.days) || p.days < 1 || p.days > MAX_DAYS) throw new UsageError(`--days must be a whole number from 1 to ${MAX_DAYS}`);
  const keyId = keyIdentifierOf(p.spkiDer);
  const extensions = [basicConstraints(true, 1), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(keyId), authorityKeyIdentifier(keyId)];
  if (p.nameConstraints) extensions.push(nameConstraintsExtension(p.nameConstraints));
  return encodeTbsCertificate({
    serial: p.serial,
    issuerDer: p.subjectDer,
    subjectDer: p.subjectDer,
    ...validityFor(p.now, p.days),
    spkiDer: p.spkiDer,
    signatureAlgorithm: signatureAlgorithmOf(createPublicKey({ key: p.spkiDer, format: 'der', type: 'spki' })).der,
    extensions,
  });
}
