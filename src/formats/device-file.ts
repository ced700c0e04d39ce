/**
 * What a file served to a device is, read from its bytes: the kind of file
 * (an identity profile, a SCEP enrollment profile, a PKCS#12, a CA
 * certificate, a calendar), and the CA certificate it carries, whose SHA-256
 * fingerprint the device's page and the computer's screen show to compare.
 *
 * The CA comes from the file itself, never from elsewhere, so the fingerprint
 * shown is that of the root the device is about to install:
 * - a .mobileconfig (issue, scep): the certificate in a <data> element that
 *   is a CA (the com.apple.security.root payload); a signed profile carries
 *   its plist in the clear inside the CMS, so the same scan finds it;
 * - PEM (ca.pem, bundle.pem): the first CA certificate;
 * - a PKCS#12: the CA certificate in an unencrypted certificate bag (the
 *   legacy profile pocketca writes for Apple devices); a modern PKCS#12
 *   encrypts its certificates under the password, so none is shown.
 *
 * Every scan is bounded (the file is at most share's 10 MiB; counts of
 * elements and sizes are capped) and nothing here throws on bad bytes: a file
 * that does not parse is simply described by its name.
 */
import { extname } from 'node:path';
import { readOid, readTlv, type Tlv } from './der-reader';
import { kindFromName, type DeviceFileKind } from './device-steps';
import { fromPemAll, looksLikePem } from './pem';
import { parseCertificate, type ParsedCertificate } from './x509';
import { decodeName, formatName, commonNameOf } from './x500-name';

export interface DeviceFileCa {
  /** The CA's common name (or its whole subject when it has no CN). */
  name: string;
  /** Colon-separated uppercase SHA-256, as `openssl x509 -fingerprint -sha256` and `pocketca init` print it. */
  fingerprint: string;
}

export interface DeviceFile {
  kind: DeviceFileKind;
  /** The file name without its extension (NAME for NAME.mobileconfig): the device's name for issue's and scep's files. */
  stem: string;
  /** The CA certificate the file carries, when it can be read without a password. */
  ca?: DeviceFileCa;
  /** A profile that carries its PKCS#12 password (issue --profile-password). */
  profileHasPassword: boolean;
}

/** Certificates looked at per file, and the largest base64 run tried as one. */
const MAX_CANDIDATES = 32;
const MAX_CERT_BASE64 = 64 * 1024;
/** Elements walked at one level of a PKCS#12. */
const MAX_ELEMENTS = 64;

export function describeDeviceFile(fileName: string, bytes: Buffer): DeviceFile {
  const stem = fileName.slice(0, fileName.length - extname(fileName).length) || fileName;
  let kind = kindFromName(fileName);
  let candidates: Buffer[] = [];
  let profileHasPassword = false;
  if (kind === 'identity-profile') {
    const text = bytes.toString('latin1');
    if (text.includes('<string>com.apple.security.scep</string>')) kind = 'scep-profile';
    profileHasPassword = kind === 'identity-profile' && /<key>Password<\/key>\s*<string>/.test(text);
    candidates = plistData(text);
  } else if (kind === 'ca-certificate') {
    candidates = looksLikePem(bytes) ? pemCertificates(bytes) : [bytes];
  } else if (kind === 'pkcs12') {
    candidates = clearPkcs12Certificates(bytes);
  }
  const ca = firstCa(candidates);
  // A .pem that holds no CA certificate (NAME.pem, a device's own) is not installed as a CA.
  if (kind === 'ca-certificate' && !ca) kind = 'certificate';
  return { kind, stem, ...(ca ? { ca } : {}), profileHasPassword };
}

function firstCa(candidates: Buffer[]): DeviceFileCa | undefined {
  for (const der of candidates.slice(0, MAX_CANDIDATES)) {
    let cert: ParsedCertificate;
    try {
      cert = parseCertificate(der);
    } catch {
      continue;
    }
    if (!cert.x509.ca) continue;
    const attributes = decodeName(cert.subjectDer);
    return { name: commonNameOf(attributes) ?? formatName(attributes), fingerprint: cert.fingerprintSha256 };
  }
  return undefined;
}

/** The decoded <data> elements of a property list, each a candidate. */
function plistData(text: string): Buffer[] {
  const found: Buffer[] = [];
  const data = /<data>([A-Za-z0-9+/=\s]{1,65536})<\/data>/g;
  for (let m = data.exec(text); m && found.length < MAX_CANDIDATES; m = data.exec(text)) {
    if (m[1]!.length <= MAX_CERT_BASE64) found.push(Buffer.from(m[1]!, 'base64'));
  }
  return found;
}

function pemCertificates(bytes: Buffer): Buffer[] {
  return fromPemAll(bytes.toString('latin1'))
    .filter((b) => b.label === 'CERTIFICATE')
    .slice(0, MAX_CANDIDATES)
    .map((b) => b.der);
}

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';

/** At most MAX_ELEMENTS children of a constructed value. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.contentStart; pos < parent.end && out.length < MAX_ELEMENTS; ) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** The content of `[0] EXPLICIT OCTET STRING` (a ContentInfo's or a CertBag's value). */
function explicitOctets(buf: Buffer, tagged: Tlv | undefined): Tlv | undefined {
  if (tagged?.tag !== 0xa0) return undefined;
  const inner = children(buf, tagged)[0];
  return inner?.tag === 0x04 ? inner : undefined;
}

/**
 * The certificates of a PKCS#12's unencrypted certificate bags (RFC 7292
 * §4.1-4.2: PFX -> authSafe data -> ContentInfo data -> SafeContents ->
 * certBag -> x509Certificate), walked at a fixed depth: no recursion.
 */
function clearPkcs12Certificates(der: Buffer): Buffer[] {
  const found: Buffer[] = [];
  try {
    const pfx = children(der, readTlv(der, 0));
    const authSafe = pfx[1] && children(der, pfx[1]);
    if (!authSafe || readOid(der, authSafe[0]!) !== OID_DATA) return found;
    const authOctets = explicitOctets(der, authSafe[1]);
    if (!authOctets) return found;
    for (const info of children(der, readTlv(der, authOctets.contentStart, authOctets.end))) {
      const [type, value] = children(der, info);
      if (!type || type.tag !== 0x06 || readOid(der, type) !== OID_DATA) continue; // an EncryptedData safe: not without the password
      const safeOctets = explicitOctets(der, value);
      if (!safeOctets) continue;
      for (const bag of children(der, readTlv(der, safeOctets.contentStart, safeOctets.end))) {
        const [bagId, bagValue] = children(der, bag);
        if (!bagId || bagId.tag !== 0x06 || readOid(der, bagId) !== OID_CERT_BAG || bagValue?.tag !== 0xa0) continue;
        const certBag = children(der, bagValue)[0];
        if (!certBag) continue;
        const [certId, certValue] = children(der, certBag);
        if (!certId || certId.tag !== 0x06 || readOid(der, certId) !== OID_X509_CERTIFICATE) continue;
        const octets = explicitOctets(der, certValue);
        if (octets) found.push(der.subarray(octets.contentStart, octets.end));
        if (found.length >= MAX_CANDIDATES) return found;
      }
    }
  } catch {
    /* not a PKCS#12 this reader understands: no CA to show */
  }
  return found;
}
