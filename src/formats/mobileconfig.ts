/**
 * iOS/macOS configuration profiles (.mobileconfig) that install a device's
 * identity and the CA that issued it, and their optional CMS signature.
 *
 * Keys follow Apple's schema in github.com/apple/device-management:
 * mdm/profiles/TopLevel.yaml, CommonPayloadKeys.yaml,
 * com.apple.security.pkcs12.yaml and com.apple.security.root.yaml.
 *
 * Keys left out on purpose:
 * - PayloadRemovalDisallowed: its default is false, and it only has an effect
 *   on supervised devices, which a phone set up by hand is not.
 * - PayloadScope: macOS only, with no documented default; choosing System or
 *   User would be a guess about where the user wants the identity.
 * - TargetDeviceType: the same profile works on an iPhone, an iPad and a Mac.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type Forge from 'node-forge';
import { sanitizeName, validateName } from './names';
import { forgeNativeSigner, loadForge } from './forge';
import { encodePlist, type PlistDict } from './plist';

export interface MobileconfigParams {
  /** Device NAME (pocketca's validated record name). */
  deviceName: string;
  /** The PKCS#12 (DER) holding the identity. */
  p12Der: Buffer;
  /** Put the PKCS#12 password in the profile (--profile-password); default undefined = phone asks. */
  p12Password?: string;
  /** The CA certificate, DER (com.apple.security.root payload). */
  caCertDer: Buffer;
  /** The CA's display name (its CN), used in PayloadDisplayName/Description. */
  caName: string;
  /** SHA-256 fingerprint of the CA certificate (hex, any format) — the namespace for stable identifiers. */
  caFingerprint: string;
  /** PayloadOrganization; default 'pocketca'. */
  organization?: string;
}

/**
 * The root of pocketca's name-based UUIDs (a random v4 UUID, fixed forever:
 * changing it would change every identifier, and a reissued profile would be
 * installed next to the old one instead of replacing it). RFC 9562 §6.6
 * recommends an application-specific namespace for application names.
 */
const POCKETCA_UUID_NAMESPACE = '23483866-9111-4279-96BD-A17C092879D5';

/** 64 lowercase hex digits from `AB:CD:…`, `abcd…` or `AB CD …`. */
function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/[\s:]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new RangeError(`not a SHA-256 fingerprint: ${JSON.stringify(fingerprint)}`);
  return hex;
}

/** RFC 9562 §5.5 (was RFC 4122 §4.3): SHA-1 of namespace || name, version 5, variant 10. */
function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Stable UUID (RFC 4122 v5, SHA-1 name-based, uppercase as Apple writes them) from the CA fingerprint and a name.
 *
 * Two levels: the CA's namespace is v5(pocketca namespace, lowercase hex
 * fingerprint), and the result is v5(CA namespace, name). The same name under
 * the same CA always gives the same UUID; another CA gives another one.
 */
export function stableUuid(caFingerprint: string, name: string): string {
  return uuidV5(uuidV5(POCKETCA_UUID_NAMESPACE, normalizeFingerprint(caFingerprint)), name);
}

/**
 * Identifiers of one device's profile under one CA.
 *
 * Apple replaces an installed profile by one with the same top-level
 * PayloadIdentifier, and updates the payloads whose PayloadIdentifier and
 * PayloadUUID both match (CommonPayloadKeys.yaml), so every value here is a
 * function of (CA, device, role) only: never of the key, serial or time.
 * The UUID names put the role first with a `:`, which a NAME cannot contain,
 * so no (device, role) pair can produce another pair's name. Payload
 * identifiers need only be unique within the profile.
 */
function profileIdentifiers(caFingerprint: string, deviceName: string) {
  const base = `ca.pocketca.${normalizeFingerprint(caFingerprint).slice(0, 16)}.${deviceName}`;
  return {
    profile: { id: base, uuid: stableUuid(caFingerprint, `profile:${deviceName}`) },
    pkcs12: { id: `${base}.pkcs12`, uuid: stableUuid(caFingerprint, `pkcs12:${deviceName}`) },
    root: { id: `${base}.root`, uuid: stableUuid(caFingerprint, `root:${deviceName}`) },
    scep: { id: `${base}.scep`, uuid: stableUuid(caFingerprint, `scep:${deviceName}`) },
  };
}

/** XML plist text of a profile with the device's identity and its CA. */
export function buildMobileconfig(p: MobileconfigParams): string {
  const device = validateName(p.deviceName);
  const ids = profileIdentifiers(p.caFingerprint, device);
  const ca = p.caName;

  const identityPayload: PlistDict = {
    PayloadType: 'com.apple.security.pkcs12',
    PayloadVersion: 1,
    PayloadIdentifier: ids.pkcs12.id,
    PayloadUUID: ids.pkcs12.uuid,
    PayloadDisplayName: `${device} identity`,
    PayloadDescription: `Client certificate and private key for ${device}, issued by ${ca}.`,
    PayloadCertificateFileName: `${device}.p12`,
    PayloadContent: p.p12Der,
    // Apple's note on this key: the profile is obfuscated, not encrypted, so
    // anyone holding it holds the identity. Hence opt-in (SPEC: --profile-password).
    Password: p.p12Password,
  };
  return encodePlist({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: ids.profile.id,
    PayloadUUID: ids.profile.uuid,
    PayloadDisplayName: `${device} (${ca})`,
    PayloadOrganization: p.organization ?? 'pocketca',
    PayloadDescription: describeProfile(device, ca, p.p12Password !== undefined),
    PayloadContent: [identityPayload, rootPayload(ids.root, device, ca, p.caCertDer)],
  });
}

function rootPayload(id: { id: string; uuid: string }, device: string, ca: string, caCertDer: Buffer): PlistDict {
  return {
    PayloadType: 'com.apple.security.root',
    PayloadVersion: 1,
    PayloadIdentifier: id.id,
    PayloadUUID: id.uuid,
    PayloadDisplayName: ca,
    PayloadDescription: `The certificate authority ${ca}, which issued the identity of ${device}.`,
    PayloadCertificateFileName: `${sanitizeName(ca) || 'ca'}.cer`,
    PayloadContent: caCertDer,
  };
}

export interface ScepMobileconfigParams {
  /** Device NAME (pocketca's validated record name); the subject asked for is CN=NAME. */
  deviceName: string;
  /** The SCEP URL the device enrolls at (`http://HOST:PORT/<token>/scep`). */
  url: string;
  /** The one-time challenge (the CSR's challengePassword). */
  challenge: string;
  /** RSA key size the device makes: 2048 or 4096 (Apple's schema allows 1024, which `sign` refuses). */
  keySize: 2048 | 4096;
  caCertDer: Buffer;
  caName: string;
  caFingerprint: string;
  organization?: string;
}

/**
 * A profile that has the device make its own key and enroll by SCEP
 * (com.apple.security.scep, apple/device-management
 * mdm/profiles/com.apple.security.scep.yaml), plus the root. The top-level
 * identifier is the one `issue` uses for the same device, so this profile
 * replaces an earlier one of the device (PKCS#12 or SCEP) instead of piling up.
 *
 * Keys set, each from the schema: URL; Name (sent as GetCACert's message:
 * the CA's name); Subject [[["CN", NAME]]]; Challenge; Keysize; Key Type RSA
 * (the only value); Key Usage 5 (signing 1 + encryption 4: a TLS client
 * certificate signs, and iOS's VPN and Wi-Fi stacks want both); Retries 3 and
 * RetryDelay 10 (the schema's defaults, stated: pocketca never answers
 * PENDING); CAFingerprint, the SHA-1 of the root, the digest Apple's
 * Over-the-Air Profile Delivery guide names, so a device on a hostile LAN
 * refuses a substituted GetCACert answer; KeyIsExtractable false (macOS:
 * the key cannot be exported from the keychain, the point of this path).
 * Left out: SubjectAltName (pocketca issues client certificates without SANs
 * by default), AllowAllAppsAccess (default false).
 */
export function buildScepMobileconfig(p: ScepMobileconfigParams): string {
  const device = validateName(p.deviceName);
  const ids = profileIdentifiers(p.caFingerprint, device);
  const ca = p.caName;
  const scepPayload: PlistDict = {
    PayloadType: 'com.apple.security.scep',
    PayloadVersion: 1,
    PayloadIdentifier: ids.scep.id,
    PayloadUUID: ids.scep.uuid,
    PayloadDisplayName: `${device} identity (made on this device)`,
    PayloadDescription: `This device makes its own private key and asks ${ca} for the client certificate of ${device}. The key never leaves the device.`,
    PayloadContent: {
      URL: p.url,
      Name: ca,
      Subject: [[['CN', device]]],
      Challenge: p.challenge,
      Keysize: p.keySize,
      'Key Type': 'RSA',
      'Key Usage': 5,
      Retries: 3,
      RetryDelay: 10,
      CAFingerprint: createHash('sha1').update(p.caCertDer).digest(),
      KeyIsExtractable: false,
    },
  };
  return encodePlist({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: ids.profile.id,
    PayloadUUID: ids.profile.uuid,
    PayloadDisplayName: `${device} (${ca})`,
    PayloadOrganization: p.organization ?? 'pocketca',
    PayloadDescription:
      `Has this device make its own key and enroll for the client certificate of ${device} with ${ca} (SCEP), ` +
      `and installs the certificate authority ${ca}. Install it while pocketca scep runs on the computer next to you.`,
    PayloadContent: [scepPayload, rootPayload(ids.root, device, ca, p.caCertDer)],
  });
}

/**
 * What installing does, shown on the phone before the user agrees. A root
 * installed from a profile by hand is not trusted for TLS servers until the
 * user turns it on (Apple support HT204477, "Trust manually installed
 * certificate profiles in iOS and iPadOS"); presenting the client
 * certificate does not need that step, servers of this CA do.
 */
function describeProfile(device: string, ca: string, hasPassword: boolean): string {
  return (
    `Installs the identity (client certificate and private key) for ${device} and the certificate authority ${ca} ` +
    `that issued it, so that this device can sign in to servers that require a certificate from ${ca}. ` +
    (hasPassword ? '' : 'You will be asked for the password of the identity. ') +
    `To also trust servers whose certificates ${ca} issued, turn it on afterwards in ` +
    'Settings > General > About > Certificate Trust Settings.'
  );
}

function forgeCertificate(der: Buffer): Forge.pki.Certificate {
  const forge = loadForge();
  return forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary')));
}

/**
 * IssuerAndSerialNumber (RFC 5652 §10.2.4) with the issuer Name and serial
 * INTEGER exactly as they are in the certificate. forge rebuilds the issuer
 * from its parsed attributes and UTF-8-encodes UTF8String values a second
 * time, so a CA named "Café" would produce a sid that matches no
 * certificate ("signer certificate not found").
 */
function issuerAndSerialNumber(certDer: Buffer): Forge.asn1.Asn1 {
  const { asn1 } = loadForge();
  const cert = asn1.fromDer(certDer.toString('binary'));
  const tbs = (cert.value as Forge.asn1.Asn1[])[0]!.value as Forge.asn1.Asn1[];
  const offset = tbs[0]!.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0; // [0] version
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [tbs[offset + 2]!, tbs[offset]!]);
}

/**
 * CMS SignedData (attached content, DER) over the profile bytes, signed with a certificate chained to the CA.
 *
 * RFC 5652 §5.3–5.4 with SHA-256 and signed attributes contentType,
 * signingTime and messageDigest, given in that order because it is their DER
 * SET OF order (§5.4 signs the DER encoding; forge keeps the order given).
 * The signature itself is native (forgeNativeSigner); forge builds the
 * structure. certificates = the signer, then `chainDer`.
 *
 * The signer's certificate needs keyUsage digitalSignature (or
 * nonRepudiation) and, if it has an extendedKeyUsage, emailProtection:
 * `openssl cms -verify` checks the S/MIME signing purpose by default, and so
 * does the chain up to the CA (whose EKU, if any, must allow it too). Apple
 * documents no EKU for profile signers.
 */
export function signMobileconfig(
  profile: Buffer,
  signer: { certDer: Buffer; key: KeyObject; chainDer: Buffer[] },
  signingTime: Date,
): Buffer {
  if (signer.key.type !== 'private' || signer.key.asymmetricKeyType !== 'rsa') {
    throw new RangeError('the profile signer key must be an RSA private key');
  }
  const certKey = new X509Certificate(signer.certDer).publicKey.export({ type: 'spki', format: 'der' });
  if (!createPublicKey(signer.key).export({ type: 'spki', format: 'der' }).equals(certKey)) {
    throw new RangeError('the profile signer key does not match its certificate');
  }

  const forge = loadForge();
  const p7 = forge.pkcs7.createSignedData();
  p7.content = forge.util.createBuffer(profile.toString('binary'));
  const certificate = forgeCertificate(signer.certDer);
  p7.addSigner({
    // forge's pkcs7 only calls key.sign(md, scheme), which this provides.
    key: forgeNativeSigner(signer.key) as unknown as Forge.pki.rsa.PrivateKey,
    certificate,
    digestAlgorithm: forge.pki.oids.sha256,
    authenticatedAttributes: [
      { type: forge.pki.oids.contentType, value: forge.pki.oids.data },
      // forge encodes it as UTCTime through 2049, GeneralizedTime after (RFC 5652 §11.3).
      { type: forge.pki.oids.signingTime, value: signingTime.toISOString() },
      // forge fills in the digest of the content.
      { type: forge.pki.oids.messageDigest },
    ],
  });
  p7.sign({ detached: false });

  // ContentInfo { contentType, [0] SignedData { ..., signerInfos } }: put the
  // certificate's own issuer and serial in the one SignerInfo's sid. The
  // signature covers the signed attributes only (RFC 5652 §5.4), not the sid.
  const contentInfo = p7.toAsn1();
  const signedData = ((contentInfo.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[0]!.value as Forge.asn1.Asn1[];
  const signerInfo = (signedData[signedData.length - 1]!.value as Forge.asn1.Asn1[])[0]!.value as Forge.asn1.Asn1[];
  signerInfo[1] = issuerAndSerialNumber(signer.certDer);
  // RFC 5754 §2: SHA-2 AlgorithmIdentifiers omit the parameters (forge writes
  // NULL). In SignedData.digestAlgorithms and SignerInfo.digestAlgorithm; no
  // signature covers either. The signatureAlgorithm, rsaEncryption, keeps its
  // NULL (RFC 3370 §3.2).
  const withoutParameters = (algorithm: Forge.asn1.Asn1) => {
    algorithm.value = (algorithm.value as Forge.asn1.Asn1[]).slice(0, 1);
  };
  for (const algorithm of signedData[1]!.value as Forge.asn1.Asn1[]) withoutParameters(algorithm);
  withoutParameters(signerInfo[2]!);
  // certificates [0] IMPLICIT (§5.1) holds the certificates' own DER: forge
  // would re-encode them from its parse (an ECDSA signature algorithm gains a
  // NULL, which breaks the issuer's signature) and parses only RSA keys.
  const certificates = forge.asn1.create(
    forge.asn1.Class.CONTEXT_SPECIFIC,
    0,
    true,
    [signer.certDer, ...signer.chainDer].map((der) => forge.asn1.fromDer(der.toString('binary'))),
  );
  signedData.splice(signedData.length - 1, 0, certificates);
  return Buffer.from(forge.asn1.toDer(contentInfo).getBytes(), 'binary');
}
