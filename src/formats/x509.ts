/**
 * X.509 v3 certificates (RFC 5280 §4.1), encoded with the DER writer. The
 * TBSCertificate is built here and signed by the caller (src/ca/signing.ts),
 * so the structure is independent of where the key lives.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  bitString,
  boolean,
  explicit,
  ia5String,
  implicitPrimitive,
  octetString,
  oid,
  sequence,
  sequenceOf,
  smallInteger,
  time,
  tlv,
  unsignedInteger,
  nullValue,
} from './der';
import { content, readChildren, readTlv, slice } from './der-reader';

export const OID = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  nameConstraints: '2.5.29.30',
  cRLNumber: '2.5.29.20',
  cRLReason: '2.5.29.21',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
} as const;


/** AlgorithmIdentifier for sha256WithRSAEncryption: parameters are NULL (RFC 4055 §5). */
export const SHA256_WITH_RSA = sequence(oid(OID.sha256WithRSAEncryption), nullValue());

export type KeyUsageBit =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';
const KEY_USAGE_BITS: KeyUsageBit[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
];

export interface SubjectAltNames {
  dns: string[];
  ip: string[];
  email: string[];
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** The DER inside extnValue's OCTET STRING. */
  value: Buffer;
}

export function encodeExtension(ext: Extension): Buffer {
  return ext.critical
    ? sequence(oid(ext.oid), boolean(true), octetString(ext.value))
    : sequence(oid(ext.oid), octetString(ext.value));
}

export function basicConstraints(ca: boolean, pathLen?: number): Extension {
  const parts = ca ? [boolean(true), ...(pathLen === undefined ? [] : [smallInteger(pathLen)])] : [];
  return { oid: OID.basicConstraints, critical: true, value: sequence(...parts) };
}

/** KeyUsage as a named BIT STRING, trailing zero bits removed (X.690 §11.2.2). */
export function keyUsage(bits: readonly KeyUsageBit[]): Extension {
  let value = 0;
  let highest = 0;
  for (const bit of bits) {
    const index = KEY_USAGE_BITS.indexOf(bit);
    value |= 0x80 >> index;
    highest = Math.max(highest, index);
  }
  const unused = 7 - highest;
  return { oid: OID.keyUsage, critical: true, value: tlv(0x03, Buffer.from([unused, value])) };
}

export function extKeyUsage(oids: readonly string[]): Extension {
  return { oid: OID.extKeyUsage, critical: false, value: sequenceOf(oids.map((o) => oid(o))) };
}

export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (isIPv6(ip)) {
    // Expand "::" and any embedded IPv4 tail, then pack 8 groups.
    let text = ip;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
      const b = v4[1]!.split('.').map(Number);
      text = text.slice(0, -v4[1]!.length) + ((b[0]! << 8) | b[1]!).toString(16) + ':' + ((b[2]! << 8) | b[3]!).toString(16);
    }
    const [head, tail] = text.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
    return out;
  }
  throw new RangeError(`not an IP address: ${ip}`);
}

export function subjectAltName(names: SubjectAltNames): Extension {
  const general = [
    ...names.email.map((e) => implicitPrimitive(1, Buffer.from(e, 'ascii'))),
    ...names.dns.map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
    ...names.ip.map((ip) => implicitPrimitive(7, ipToBytes(ip))),
  ];
  return { oid: OID.subjectAltName, critical: false, value: sequenceOf(general) };
}

export function subjectKeyIdentifier(keyId: Buffer): Extension {
  return { oid: OID.subjectKeyIdentifier, critical: false, value: octetString(keyId) };
}

export function authorityKeyIdentifier(keyId: Buffer): Extension {
  return { oid: OID.authorityKeyIdentifier, critical: false, value: sequence(implicitPrimitive(0, keyId)) };
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdentifierOf(spkiDer: Buffer): Buffer {
  const [, bits] = readChildren(spkiDer, readTlv(spkiDer, 0));
  if (!bits || bits.tag !== 0x03) throw new RangeError('not a SubjectPublicKeyInfo');
  // Skip the BIT STRING's unused-bits octet.
  return createHash('sha1').update(spkiDer.subarray(bits.contentStart + 1, bits.end)).digest();
}

export interface TbsCertificateParams {
  serial: Buffer;
  issuerDer: Buffer;
  subjectDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  extensions: Extension[];
  /** The issuer's signature AlgorithmIdentifier (DER), as the signature will carry it (§4.1.2.3); default sha256WithRSAEncryption. */
  signatureAlgorithm?: Buffer;
}

export function encodeTbsCertificate(p: TbsCertificateParams): Buffer {
  return sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(p.serial),
    p.signatureAlgorithm ?? SHA256_WITH_RSA,
    p.issuerDer,
    sequence(time(p.notBefore), time(p.notAfter)),
    p.subjectDer,
    p.spkiDer,
    explicit(3, sequenceOf(p.extensions.map(encodeExtension))),
  );
}

/** Certificate / CertificateList: SEQUENCE { tbs, signatureAlgorithm, signatureValue }. */
export function assembleSigned(tbs: Buffer, signature: Buffer, signatureAlgorithm: Buffer = SHA256_WITH_RSA): Buffer {
  return sequence(tbs, signatureAlgorithm, bitString(signature));
}

/** What pocketca needs to know of a certificate it signs with (the CA) or inspects. */
export interface ParsedCertificate {
  der: Buffer;
  x509: X509Certificate;
  subjectDer: Buffer;
  spkiDer: Buffer;
  keyId: Buffer;
  publicKey: KeyObject;
  serialHex: string;
  fingerprintSha256: string;
}

/**
 * The fields are sliced out of the DER with the bounds-checked reader rather
 * than through node-forge: every command parses the CA certificate, and
 * loading forge alone costs ~50 ms of start-up (issue 6).
 */
export function parseCertificate(der: Buffer): ParsedCertificate {
  const x509 = new X509Certificate(der);
  const tbs = readChildren(der, readTlv(der, 0))[0];
  if (!tbs || tbs.tag !== 0x30) throw new RangeError('not a certificate');
  const fields = readChildren(der, tbs);
  // TBSCertificate: [0] version (absent in v1), serial, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  const spki = fields[offset + 5];
  if (!subject || !spki) throw new RangeError('not a certificate');
  const subjectDer = Buffer.from(slice(der, subject));
  const spkiDer = Buffer.from(slice(der, spki));
  return {
    der,
    x509,
    subjectDer,
    spkiDer,
    keyId: keyIdentifierOf(spkiDer),
    publicKey: createPublicKey({ key: spkiDer, format: 'der', type: 'spki' }),
    serialHex: x509.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    fingerprintSha256: fingerprintOf(der),
  };
}

/** Colon-separated uppercase SHA-256, as `openssl x509 -fingerprint -sha256` prints. */
export function fingerprintOf(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/** GeneralNames (RFC 5280 §4.2.1.6) as the three kinds pocketca issues; other kinds are skipped. */
export function parseGeneralNames(der: Buffer): SubjectAltNames {
  const names: SubjectAltNames = { dns: [], ip: [], email: [] };
  const seq = readTlv(der, 0);
  for (const gn of readChildren(der, seq)) {
    const value = content(der, gn);
    if (gn.tag === 0x81) names.email.push(value.toString('latin1'));
    else if (gn.tag === 0x82) names.dns.push(value.toString('latin1'));
    else if (gn.tag === 0x87) {
      if (value.length === 4) names.ip.push([...value].join('.'));
      else if (value.length === 16) names.ip.push((value.toString('hex').match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, '')).join(':'));
    }
  }
  return names;
}

/** One extension of a certificate, as found in its DER (RFC 5280 §4.1.2.9), or undefined. */
export function extensionOf(certDer: Buffer, extensionOid: string): Extension | undefined {
  const tbs = readChildren(certDer, readTlv(certDer, 0))[0]!;
  const extensions = readChildren(certDer, tbs).find((child) => child.tag === 0xa3);
  if (!extensions) return undefined;
  const wanted = oid(extensionOid);
  for (const extension of readChildren(certDer, readChildren(certDer, extensions)[0]!)) {
    const parts = readChildren(certDer, extension);
    if (!slice(certDer, parts[0]!).equals(wanted)) continue;
    const critical = parts.length === 3 && content(certDer, parts[1]!)[0] !== 0;
    return { oid: extensionOid, critical, value: Buffer.from(content(certDer, parts[parts.length - 1]!)) };
  }
  return undefined;
}

/** The subjectAltName of a certificate (empty lists when it has none), for `renew`. */
export function subjectAltNamesOf(certDer: Buffer): SubjectAltNames {
  const san = extensionOf(certDer, OID.subjectAltName);
  return san ? parseGeneralNames(san.value) : { dns: [], ip: [], email: [] };
}

/** basicConstraints (RFC 5280 §4.2.1.9): cA and pathLenConstraint (undefined: no limit). */
export function basicConstraintsOf(certDer: Buffer): { ca: boolean; pathLen?: number } {
  const ext = extensionOf(certDer, OID.basicConstraints);
  if (!ext) return { ca: false };
  const children = readChildren(ext.value, readTlv(ext.value, 0));
  let ca = false;
  let pathLen: number | undefined;
  for (const child of children) {
    if (child.tag === 0x01) ca = content(ext.value, child)[0] !== 0;
    else if (child.tag === 0x02) pathLen = content(ext.value, child).reduce((n, b) => n * 256 + b, 0);
  }
  return pathLen === undefined ? { ca } : { ca, pathLen };
}
