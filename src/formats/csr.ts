/**
 * PKCS#10 certification requests (RFC 2986). The request's own signature is
 * verified over the certificationRequestInfo bytes exactly as received; the
 * extensions it asks for are reported, never trusted (SPEC `sign`).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CsrSignatureError, InvalidCsrError, PocketcaError } from '../errors';
import { content, DerError, readChildren, readOid, readTlv, slice, type Tlv } from './der-reader';
import { fromPem, looksLikePem } from './pem';
import { commonNameOf, decodeName, formatName, type NameAttribute } from './x500-name';
import { parseGeneralNames, type SubjectAltNames } from './x509';

/** Signature algorithms accepted on a CSR, to Node's digest names (null: Ed25519). */
const SIGNATURE_ALGORITHMS: Record<string, { digest: string | null; keyType: string }> = {
  '1.2.840.113549.1.1.5': { digest: 'sha1', keyType: 'rsa' },
  '1.2.840.113549.1.1.11': { digest: 'sha256', keyType: 'rsa' },
  '1.2.840.113549.1.1.12': { digest: 'sha384', keyType: 'rsa' },
  '1.2.840.113549.1.1.13': { digest: 'sha512', keyType: 'rsa' },
  '1.2.840.10045.4.3.2': { digest: 'sha256', keyType: 'ec' },
  '1.2.840.10045.4.3.3': { digest: 'sha384', keyType: 'ec' },
  '1.2.840.10045.4.3.4': { digest: 'sha512', keyType: 'ec' },
  '1.3.101.112': { digest: null, keyType: 'ed25519' },
};

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_CHALLENGE_PASSWORD = '1.2.840.113549.1.9.7';
const OID_SAN = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';

export interface ParsedCsr<K = undefined> {
  /** The subject as received: read, never copied into a certificate (src/ca/subject.ts builds that). */
  subjectDer: Buffer;
  subject: NameAttribute[];
  subjectText: string;
  commonName: string | undefined;
  /** The key as received: read, never copied into a certificate (src/ca/public-key.ts re-encodes it). */
  spkiDer: Buffer;
  /** What `acceptKey` returned for the key. */
  acceptedKey: K;
  publicKey: KeyObject;
  /** 'rsa', 'ec' or 'ed25519'. */
  keyType: string;
  /** SANs the CSR asks for (used only for `--profile server`). */
  requestedSans: SubjectAltNames;
  /** True when the CSR asks for CA:TRUE (always ignored; reported as a warning). */
  requestsCa: boolean;
  /** The challengePassword attribute (RFC 2985 §5.4.1), which SCEP's PKCSReq carries; undefined when absent. */
  challengePassword: string | undefined;
}

/** Accept PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST") or DER. */
export function csrDerFromBytes(bytes: Buffer): Buffer {
  if (looksLikePem(bytes)) {
    const der = fromPem(bytes.toString('latin1'), ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
    if (!der) throw new InvalidCsrError('not a certificate request: no CERTIFICATE REQUEST block in the PEM');
    return der;
  }
  return bytes;
}

const oidOf = (buf: Buffer, node: Tlv): string => readOid(buf, node);

/**
 * `acceptKey` sees the SubjectPublicKeyInfo before the signature is checked
 * (it may refuse the key with its own error: a DSA key is then refused as
 * DSA, not as an unknown signature algorithm); what it returns comes back as
 * `acceptedKey`.
 */
export function parseCsr<K = undefined>(bytes: Buffer, acceptKey: (spkiDer: Buffer) => K = () => undefined as K): ParsedCsr<K> {
  const der = csrDerFromBytes(bytes);
  try {
    return parseCsrDer(der, acceptKey);
  } catch (error) {
    if (error instanceof PocketcaError) throw error;
    if (error instanceof DerError || error instanceof RangeError || error instanceof Error) {
      throw new InvalidCsrError(`not a valid certificate request (${error.message.split('\n')[0]})`);
    }
    throw error;
  }
}

function parseCsrDer<K>(der: Buffer, acceptKey: (spkiDer: Buffer) => K): ParsedCsr<K> {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new InvalidCsrError('not a certificate request: trailing or malformed data');
  const [infoTlv, algTlv, sigTlv] = readChildren(der, outer);
  if (!infoTlv || !algTlv || !sigTlv || infoTlv.tag !== 0x30 || algTlv.tag !== 0x30 || sigTlv.tag !== 0x03) {
    throw new InvalidCsrError('not a certificate request: wrong structure');
  }
  const info = readChildren(der, infoTlv);
  const [versionTlv, subjectTlv, spkiTlv, attrsTlv] = info;
  if (!versionTlv || versionTlv.tag !== 0x02 || !subjectTlv || subjectTlv.tag !== 0x30 || !spkiTlv || spkiTlv.tag !== 0x30) {
    throw new InvalidCsrError('not a certificate request: wrong certificationRequestInfo');
  }
  const spkiDer = Buffer.from(slice(der, spkiTlv));
  const acceptedKey = acceptKey(spkiDer);
  const algOidTlv = readChildren(der, algTlv)[0];
  if (!algOidTlv || algOidTlv.tag !== 0x06) throw new InvalidCsrError('not a certificate request: bad signature algorithm');
  const algOid = oidOf(der, algOidTlv);
  const alg = SIGNATURE_ALGORITHMS[algOid];
  if (!alg) throw new InvalidCsrError(`unsupported CSR signature algorithm ${algOid}`, 'make the CSR with RSA (PKCS#1 v1.5), ECDSA or Ed25519 and SHA-256');

  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch {
    throw new InvalidCsrError('the CSR public key cannot be read');
  }
  const keyType = publicKey.asymmetricKeyType ?? 'unknown';
  if (keyType !== alg.keyType) throw new CsrSignatureError();

  const signature = content(der, sigTlv);
  if (signature.length < 2 || signature[0] !== 0) throw new InvalidCsrError('not a certificate request: bad signature bit string');
  let ok = false;
  try {
    ok = verify(alg.digest, slice(der, infoTlv), { key: publicKey, dsaEncoding: 'der' }, signature.subarray(1));
  } catch {
    ok = false;
  }
  if (!ok) throw new CsrSignatureError();

  const subjectDer = Buffer.from(slice(der, subjectTlv));
  const subject = decodeName(subjectDer);
  let requestedSans: SubjectAltNames = { dns: [], ip: [], email: [] };
  let requestsCa = false;
  let challengePassword: string | undefined;
  if (attrsTlv && attrsTlv.tag === 0xa0) {
    for (const attr of readChildren(der, attrsTlv)) {
      const [typeTlv, valuesTlv] = readChildren(der, attr);
      if (typeTlv && valuesTlv && oidOf(der, typeTlv) === OID_CHALLENGE_PASSWORD) {
        // DirectoryString: PrintableString, UTF8String (or IA5String from older tools); one value.
        const values = readChildren(der, valuesTlv);
        const value = values[0];
        if (values.length !== 1 || !value || ![0x13, 0x0c, 0x16].includes(value.tag) || challengePassword !== undefined) {
          throw new InvalidCsrError('the CSR challengePassword attribute is malformed');
        }
        challengePassword = content(der, value).toString('utf8');
        continue;
      }
      if (!typeTlv || !valuesTlv || oidOf(der, typeTlv) !== OID_EXTENSION_REQUEST) continue;
      for (const extensions of readChildren(der, valuesTlv)) {
        for (const ext of readChildren(der, extensions)) {
          const parts = readChildren(der, ext);
          const extOid = oidOf(der, parts[0]!);
          const value = content(der, parts[parts.length - 1]!);
          if (extOid === OID_SAN) requestedSans = parseGeneralNames(Buffer.from(value));
          if (extOid === OID_BASIC_CONSTRAINTS) {
            const bc = readTlv(value, 0);
            const first = readChildren(value, bc)[0];
            requestsCa = first !== undefined && first.tag === 0x01 && value[first.contentStart] !== 0;
          }
        }
      }
    }
  }
  return {
    subjectDer,
    subject,
    subjectText: formatName(subject),
    commonName: commonNameOf(subject),
    spkiDer,
    acceptedKey,
    publicKey,
    keyType,
    requestedSans,
    requestsCa,
    challengePassword,
  };
}
