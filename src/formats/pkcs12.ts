/**
 * PKCS#12 (RFC 7292) files holding one identity: an RSA key, its certificate
 * and optionally the CA chain, in one of two profiles.
 *
 * - legacy: the layout node-forge writes with `algorithm: '3des'`: the key
 *   in a pkcs8ShroudedKeyBag under pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292
 *   App. C), the certificates unencrypted, an HMAC-SHA-1 MAC. iOS and macOS
 *   import this; older releases refuse OpenSSL 3's defaults ("wrong
 *   password"), which is why `openssl pkcs12 -export` grew `-legacy`. It is
 *   built here with Node's crypto: forge's pure-JavaScript KDF and 3DES cost
 *   ~50 ms of every `issue`, after the key is ready (issue 6).
 * - modern: what OpenSSL 3 writes by default: the key bag and the certificate
 *   safe (EncryptedData) under PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC
 *   (RFC 8018 §6.2, App. A.2), an HMAC-SHA-256 MAC. forge hard-codes a SHA-1
 *   MAC, so this profile is built here with the DER writer and Node's crypto.
 *
 * Passwords: the PKCS#12 KDF (RFC 7292 App. B), used for the MAC key and the
 * 3DES bag, takes the password as a BMPString with a trailing NUL (App. B.1);
 * PBKDF2 takes its UTF-8 bytes (RFC 8018 §3). OpenSSL, GnuTLS and NSS agree;
 * Java's keytool refuses non-ASCII PKCS#12 passwords outright.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hash,
  createPrivateKey,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
  X509Certificate,
  type Decipher,
  type KeyObject,
} from 'node:crypto';
import type Forge from 'node-forge';
import { KeyDerivationTooCostlyError, MissingSecretError, UnreadableInputError, WrongPkcs12PasswordError } from '../errors';
import { loadForge } from './forge';
import { constructed, explicit, implicitPrimitive, nullValue, octetString, oid, sequence, sequenceOf, smallInteger, tlv } from './der';

export type Pkcs12Format = 'legacy' | 'modern';

export interface Pkcs12Params {
  /** The identity's private key (Node KeyObject, RSA). */
  key: KeyObject;
  /** The identity's certificate, DER. */
  certDer: Buffer;
  /** CA certificates to include after it, DER; default none. */
  chainDer?: Buffer[];
  /** Non-empty password; ASCII if Java must read the file (see the file comment). */
  password: string;
  /** `legacy` for Apple devices, `modern` for everything else (see the file comment). */
  format: Pkcs12Format;
  /** friendlyName bag attribute on the key and leaf cert (the name keychains and keytool show). */
  friendlyName: string;
}

/**
 * OpenSSL 3's PKCS12_DEFAULT_ITER, for the encryption and the MAC alike: a
 * higher count would have to apply to both, since either lets an attacker
 * test a guess.
 */
const ITERATIONS = 2048;
/** NIST SP 800-132 §5.1 asks for at least 128 random bits of salt. */
const SALT_LENGTH = 16;
/**
 * Refuse hostile files that would keep the KDF busy for minutes: tighter than
 * KDF_LIMITS.iterations (src/formats/encrypted-key.ts), since the PKCS#12 KDF
 * runs here in JavaScript, up to three times per bag.
 */
const MAX_ITERATIONS = 1_000_000;

const OID_P12 = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbeWithSha1And3KeyTripleDesCbc: '1.2.840.113549.1.12.1.3',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
} as const;

type Digest = 'sha1' | 'sha256' | 'sha384' | 'sha512';
/** MAC digests by OID (RFC 7292 §4 MacData), with their output length. */
const MAC_DIGESTS: Record<string, { digest: Digest; length: number }> = {
  '1.3.14.3.2.26': { digest: 'sha1', length: 20 },
  '2.16.840.1.101.3.4.2.1': { digest: 'sha256', length: 32 },
  '2.16.840.1.101.3.4.2.2': { digest: 'sha384', length: 48 },
  '2.16.840.1.101.3.4.2.3': { digest: 'sha512', length: 64 },
};
/** PBKDF2 PRFs by OID (RFC 8018 App. B.1). */
const PRFS: Record<string, Digest> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const AES_CBC: Record<string, { cipher: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes-256-cbc', keyLength: 32 },
};
const OID_SHA1 = '1.3.14.3.2.26';
const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_HMAC_SHA256 = '1.2.840.113549.2.9';
const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

/** A salt and what the password derives from it: a key, and an IV where the cipher takes one. */
interface Derived {
  salt: Buffer;
  key: Buffer;
  iv: Buffer;
}

/**
 * Everything in a PKCS#12 that comes from the password alone: salts, IVs and
 * the derived keys. It needs neither the key pair nor the certificate, so
 * `issue` derives it while the key pair is still being generated (issue 6).
 */
export interface Pkcs12Secrets {
  format: Pkcs12Format;
  /** The shrouded key bag's encryption. */
  keyBag: Derived;
  /** The certificates' EncryptedData (modern only; legacy leaves them in the clear). */
  certSafe?: Derived;
  /** The MAC key (its IV is unused). */
  mac: Derived;
}

/** forge's salts for the legacy profile: 8 octets, OpenSSL's PKCS5_SALT_LEN, what the Apple devices were tested with. */
const LEGACY_SALT_LENGTH = 8;

/** Derive a PKCS#12's password material; encodePkcs12 does it itself when not given one. */
export function preparePkcs12(password: string, format: Pkcs12Format): Pkcs12Secrets {
  if (password === '') throw new MissingSecretError('a PKCS#12 password must not be empty');
  if (format === 'legacy') {
    // RFC 7292 App. C: pbeWithSHAAnd3-KeyTripleDES-CBC, key and IV from the PKCS#12 KDF (App. B, IDs 1 and 2); MAC key ID 3.
    const salt = randomBytes(LEGACY_SALT_LENGTH);
    const macSalt = randomBytes(LEGACY_SALT_LENGTH);
    return {
      format,
      keyBag: { salt, key: pkcs12Kdf(password, salt, 1, ITERATIONS, 24, 'sha1'), iv: pkcs12Kdf(password, salt, 2, ITERATIONS, 8, 'sha1') },
      mac: { salt: macSalt, key: pkcs12Kdf(password, macSalt, 3, ITERATIONS, 20, 'sha1'), iv: Buffer.alloc(0) },
    };
  }
  // RFC 7292 §4 MacData; §5.1 step 4 and App. B.4: the MAC key comes from the
  // PKCS#12 KDF with ID 3, as long as the digest.
  const macSalt = randomBytes(SALT_LENGTH);
  return {
    format,
    keyBag: derivePbes2(password),
    certSafe: derivePbes2(password),
    mac: { salt: macSalt, key: pkcs12Kdf(password, macSalt, 3, ITERATIONS, 32, 'sha256'), iv: Buffer.alloc(0) },
  };
}

export function encodePkcs12(params: Pkcs12Params, secrets: Pkcs12Secrets = preparePkcs12(params.password, params.format)): Buffer {
  if (params.password === '') throw new MissingSecretError('a PKCS#12 password must not be empty');
  if (secrets.format !== params.format) throw new RangeError(`PKCS#12 secrets prepared for ${secrets.format}, not ${params.format}`);
  // The leaf's SHA-1, as OpenSSL and forge compute it, pairs the key bag
  // with its certificate bag (RFC 7292 §4.2, localKeyId).
  const localKeyId = createHash('sha1').update(params.certDer).digest();
  return params.format === 'legacy' ? encodeLegacy(params, localKeyId, secrets) : encodeModern(params, localKeyId, secrets);
}

/**
 * The layout of node-forge's `toPkcs12Asn1(key, certs, password, {algorithm:
 * '3des'})`: the certificates' SafeContents in the clear, then the shrouded
 * key, then the SHA-1 MAC. Unlike forge, the bag attributes are a DER SET OF,
 * sorted by encoding (X.690 §11.6), not always localKeyId first: for a
 * friendlyName of up to 10 characters it sorts first (issue 10).
 */
function encodeLegacy(p: Pkcs12Params, localKeyId: Buffer, secrets: Pkcs12Secrets): Buffer {
  const attributes = bagAttributes(p.friendlyName, localKeyId);
  const certBags = [p.certDer, ...(p.chainDer ?? [])].map((der, i) =>
    safeBag(OID_P12.certBag, sequence(oid(OID_P12.x509Certificate), explicit(0, octetString(der))), i === 0 ? attributes : undefined),
  );

  const { salt, key, iv } = secrets.keyBag;
  const plainKey = p.key.export({ type: 'pkcs8', format: 'der' });
  const cipher = createCipheriv('des-ede3-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plainKey), cipher.final()]);
  plainKey.fill(0);
  const shroudedKey = sequence(sequence(oid(OID_P12.pbeWithSha1And3KeyTripleDesCbc), sequence(octetString(salt), smallInteger(ITERATIONS))), octetString(ciphertext));
  const keyBag = safeBag(OID_P12.pkcs8ShroudedKeyBag, shroudedKey, attributes);

  const authenticatedSafe = sequence(dataContentInfo(sequenceOf(certBags)), dataContentInfo(sequence(keyBag)));
  const mac = createHmac('sha1', secrets.mac.key).update(authenticatedSafe).digest();
  const macData = sequence(sequence(sequence(oid(OID_SHA1), nullValue()), octetString(mac)), octetString(secrets.mac.salt), smallInteger(ITERATIONS));
  return sequence(smallInteger(3), dataContentInfo(authenticatedSafe), macData);
}

/** The layout of `openssl pkcs12 -export` in OpenSSL 3: certificates first, then the key. */
function encodeModern(p: Pkcs12Params, localKeyId: Buffer, secrets: Pkcs12Secrets): Buffer {
  const attributes = bagAttributes(p.friendlyName, localKeyId);
  const certBags = [p.certDer, ...(p.chainDer ?? [])].map((der, i) =>
    safeBag(OID_P12.certBag, sequence(oid(OID_P12.x509Certificate), explicit(0, octetString(der))), i === 0 ? attributes : undefined),
  );
  const plainKey = p.key.export({ type: 'pkcs8', format: 'der' });
  const shroudedKey = encryptPbes2(plainKey, secrets.keyBag);
  plainKey.fill(0);
  const keyBag = safeBag(OID_P12.pkcs8ShroudedKeyBag, sequence(shroudedKey.algorithm, octetString(shroudedKey.ciphertext)), attributes);

  // RFC 7292 §4.1: AuthenticatedSafe, one ContentInfo per SafeContents; the
  // certificates' is EncryptedData (RFC 5652 §8: version 0, then
  // EncryptedContentInfo with encryptedContent [0] IMPLICIT).
  const certSafe = encryptPbes2(sequenceOf(certBags), secrets.certSafe!);
  const authenticatedSafe = sequence(
    sequence(
      oid(OID_P12.encryptedData),
      explicit(0, sequence(smallInteger(0), sequence(oid(OID_P12.data), certSafe.algorithm, implicitPrimitive(0, certSafe.ciphertext)))),
    ),
    dataContentInfo(sequence(keyBag)),
  );

  const mac = createHmac('sha256', secrets.mac.key).update(authenticatedSafe).digest();
  const macData = sequence(sequence(sequence(oid(OID_SHA256), nullValue()), octetString(mac)), octetString(secrets.mac.salt), smallInteger(ITERATIONS));

  return sequence(smallInteger(3), dataContentInfo(authenticatedSafe), macData);
}

/** RFC 7292 §4.2: SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OF OPTIONAL }. */
function safeBag(bagId: string, value: Buffer, attributes?: Buffer): Buffer {
  return sequence(oid(bagId), explicit(0, value), ...(attributes ? [attributes] : []));
}

/** friendlyName is a BMPString (PKCS#9, RFC 2985 §5.5.1); a DER SET OF is sorted (X.690 §11.6). */
function bagAttributes(friendlyName: string, localKeyId: Buffer): Buffer {
  const bmp = Buffer.from(friendlyName, 'utf16le').swap16();
  const attributes = [
    sequence(oid(OID_P12.friendlyName), constructed(0x31, [tlv(0x1e, bmp)])),
    sequence(oid(OID_P12.localKeyId), constructed(0x31, [octetString(localKeyId)])),
  ].sort(Buffer.compare);
  return constructed(0x31, attributes);
}

/** PKCS#7 ContentInfo of type data: the content is an OCTET STRING. */
function dataContentInfo(content: Buffer): Buffer {
  return sequence(oid(OID_P12.data), explicit(0, octetString(content)));
}

/** PBKDF2-HMAC-SHA256 over the password's UTF-8 (RFC 8018 §3) with a fresh salt and IV for AES-256-CBC. */
function derivePbes2(password: string): Derived {
  const salt = randomBytes(SALT_LENGTH);
  return { salt, key: pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 32, 'sha256'), iv: randomBytes(16) };
}

/**
 * RFC 8018 §6.2.1 PBES2 with PBKDF2-HMAC-SHA256 (keyLength omitted, as
 * OpenSSL writes it) and AES-256-CBC: the AlgorithmIdentifier and the
 * ciphertext, which the callers wrap as an EncryptedPrivateKeyInfo
 * (RFC 5958 §3) or an EncryptedContentInfo (RFC 5652 §6.1).
 */
function encryptPbes2(plaintext: Buffer, { salt, key, iv }: Derived): { algorithm: Buffer; ciphertext: Buffer } {
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const algorithm = sequence(
    oid(OID_P12.pbes2),
    sequence(
      sequence(oid(OID_P12.pbkdf2), sequence(octetString(salt), smallInteger(ITERATIONS), sequence(oid(OID_HMAC_SHA256), nullValue()))),
      sequence(oid(OID_AES256_CBC), octetString(iv)),
    ),
  );
  return { algorithm, ciphertext };
}

const hashOnce: (digest: Digest, data: Buffer) => Buffer =
  typeof hash === 'function' ? (digest, data) => hash(digest, data, 'buffer') : (digest, data) => createHash(digest).update(data).digest();

/** Digest output (u) and block (v) sizes in octets, RFC 7292 App. B.2. */
const KDF_SIZES: Record<Digest, { u: number; v: number }> = {
  sha1: { u: 20, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/**
 * RFC 7292 App. B.2 with Node's hashes. The password is a BMPString with a
 * trailing NUL (App. B.1), UTF-16 code units as forge and OpenSSL take them.
 */
function pkcs12Kdf(password: string, salt: Buffer, id: 1 | 2 | 3, iterations: number, length: number, digest: Digest): Buffer {
  const { u, v } = KDF_SIZES[digest];
  // S and P: salt and password repeated to a multiple of v octets; I = S || P.
  const fill = (bytes: Buffer): Buffer => {
    const out = Buffer.alloc(v * Math.ceil(bytes.length / v));
    for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length]!;
    return out;
  };
  const I = Buffer.concat([fill(salt), fill(Buffer.from(password + '\u0000', 'utf16le').swap16())]);
  const D = Buffer.alloc(v, id);
  const out = Buffer.alloc(Math.ceil(length / u) * u);
  for (let block = 0; block * u < length; block++) {
    let a = createHash(digest).update(D).update(I).digest();
    // One-shot hash (Node >= 20.12): half the cost of a Hash object per round.
    for (let round = 1; round < iterations; round++) a = hashOnce(digest, a);
    a.copy(out, block * u);
    // I_j = (I_j + B + 1) mod 2^(8v), with B = A repeated to v octets.
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let l = v - 1; l >= 0; l--) {
        carry += I[j + l]! + a[l % u]!;
        I[j + l] = carry & 0xff;
        carry >>= 8;
      }
    }
  }
  return out.subarray(0, length);
}

/**
 * Open a PKCS#12 file: verify the MAC, decrypt every bag, and return the
 * private key (unencrypted PKCS#8 PEM) and the certificates, the one that
 * matches the key first, the others in file order. Reads both profiles
 * written here and what OpenSSL, Windows and Java write by default, except
 * RC2 (`openssl -legacy`) and PBMAC1 (RFC 9579).
 */
export function decodePkcs12(der: Buffer, password: string): { keyPem: string; certsDer: Buffer[] } {
  let pfx: Forge.asn1.Asn1;
  try {
    pfx = asn1().fromDer(der.toString('binary'));
  } catch (error) {
    throw new UnreadableInputError(`not a PKCS#12 file: ${(error as Error).message}`);
  }
  const [version, authSafe, macData] = items(pfx, 'PFX', 2);
  if (integerOf(version!) !== 3) throw new UnreadableInputError('not a PKCS#12 version 3 file');
  const authenticatedSafe = dataContent(authSafe!);
  // RFC 7292 §4: MacData is OPTIONAL, but password integrity mode without it
  // leaves nothing to check the password against before decrypting.
  if (!macData) throw new UnreadableInputError('PKCS#12 file has no MAC');
  verifyMac(macData, authenticatedSafe, password);

  const keys: Buffer[] = [];
  const certs: Buffer[] = [];
  for (const contentInfo of items(parse(authenticatedSafe), 'AuthenticatedSafe', 0)) {
    const [type, content] = items(contentInfo, 'ContentInfo', 2);
    let safeContents: Buffer;
    if (oidOf(type!) === OID_P12.data) safeContents = dataContent(contentInfo);
    else if (oidOf(type!) === OID_P12.encryptedData) {
      // EncryptedData { version, EncryptedContentInfo { type, algorithm, [0] IMPLICIT content } }
      const [, encryptedContentInfo] = items(items(content!, 'EncryptedData', 1)[0]!, 'EncryptedData', 2);
      const [, algorithm, encrypted] = items(encryptedContentInfo!, 'EncryptedContentInfo', 3);
      safeContents = decrypt(algorithm!, octets(encrypted!), password);
    } else throw new UnreadableInputError(`unsupported PKCS#12 content type ${oidOf(type!)}`);

    for (const bag of items(parse(safeContents), 'SafeContents', 0)) {
      const [bagId, value] = items(bag, 'SafeBag', 2);
      const bagValue = items(value!, 'bagValue', 1)[0]!;
      switch (oidOf(bagId!)) {
        case OID_P12.keyBag:
          keys.push(toBuffer(bagValue));
          break;
        case OID_P12.pkcs8ShroudedKeyBag: {
          const [algorithm, encrypted] = items(bagValue, 'EncryptedPrivateKeyInfo', 2);
          keys.push(decrypt(algorithm!, octets(encrypted!), password));
          break;
        }
        case OID_P12.certBag: {
          const [certId, certValue] = items(bagValue, 'CertBag', 2);
          if (oidOf(certId!) === OID_P12.x509Certificate) certs.push(octets(items(certValue!, 'certValue', 1)[0]!));
          break;
        }
        // CRL and secret bags carry nothing pocketca restores.
      }
    }
  }

  if (keys.length === 0) throw new UnreadableInputError('PKCS#12 file holds no private key');
  const key = createPrivateKey({ key: keys[0]!, format: 'der', type: 'pkcs8' });
  const matches = (cert: Buffer): boolean => new X509Certificate(cert).checkPrivateKey(key);
  return {
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    certsDer: [...certs.filter(matches), ...certs.filter((c) => !matches(c))],
  };
}

/** RFC 7292 §5.1 step 4 in reverse; the comparison runs in constant time. */
function verifyMac(macData: Forge.asn1.Asn1, authenticatedSafe: Buffer, password: string): void {
  const [digestInfo, salt, iterations] = items(macData, 'MacData', 2);
  const [algorithm, expected] = items(digestInfo!, 'DigestInfo', 2);
  const macOid = oidOf(items(algorithm!, 'AlgorithmIdentifier', 1)[0]!);
  const mac = MAC_DIGESTS[macOid];
  if (!mac) throw new UnreadableInputError(`unsupported PKCS#12 MAC algorithm ${macOid}`);
  const count = iterations ? checkedIterations(iterations) : 1; // RFC 7292 §4: DEFAULT 1
  const expectedMac = octets(expected!);
  const key = pkcs12Kdf(password, octets(salt!), 3, count, mac.length, mac.digest);
  const actual = createHmac(mac.digest, key).update(authenticatedSafe).digest();
  if (actual.length !== expectedMac.length || !timingSafeEqual(actual, expectedMac)) throw new WrongPkcs12PasswordError();
}

/** Decrypt under PBES2 (RFC 8018 §6.2.2) or pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 App. C). */
function decrypt(algorithm: Forge.asn1.Asn1, ciphertext: Buffer, password: string): Buffer {
  const [algorithmOid, parameters] = items(algorithm, 'AlgorithmIdentifier', 2);
  let decipher: Decipher;
  switch (oidOf(algorithmOid!)) {
    case OID_P12.pbeWithSha1And3KeyTripleDesCbc: {
      const [salt, iterations] = items(parameters!, 'pkcs-12PbeParams', 2);
      const count = checkedIterations(iterations!);
      const key = pkcs12Kdf(password, octets(salt!), 1, count, 24, 'sha1');
      const iv = pkcs12Kdf(password, octets(salt!), 2, count, 8, 'sha1');
      decipher = createDecipheriv('des-ede3-cbc', key, iv);
      break;
    }
    case OID_P12.pbes2: {
      const [kdf, scheme] = items(parameters!, 'PBES2-params', 2);
      const [kdfOid, kdfParams] = items(kdf!, 'keyDerivationFunc', 2);
      if (oidOf(kdfOid!) !== OID_P12.pbkdf2) throw new UnreadableInputError(`unsupported PBES2 KDF ${oidOf(kdfOid!)}`);
      // PBKDF2-params { salt, iterationCount, keyLength OPTIONAL, prf DEFAULT hmacWithSHA1 }
      const [salt, iterations, ...rest] = items(kdfParams!, 'PBKDF2-params', 2);
      const prfNode = rest.find((n) => n.type === asn1().Type.SEQUENCE);
      const prfOid = prfNode ? oidOf(items(prfNode, 'prf', 1)[0]!) : '1.2.840.113549.2.7';
      const prf = PRFS[prfOid];
      const [schemeOid, iv] = items(scheme!, 'encryptionScheme', 2);
      const aes = AES_CBC[oidOf(schemeOid!)];
      if (!prf || !aes) throw new UnreadableInputError(`unsupported PBES2 algorithms ${prfOid}, ${oidOf(schemeOid!)}`);
      const key = pbkdf2Sync(Buffer.from(password, 'utf8'), octets(salt!), checkedIterations(iterations!), aes.keyLength, prf);
      decipher = createDecipheriv(aes.cipher, key, octets(iv!));
      break;
    }
    default:
      // Notably RC2 (1.2.840.113549.1.12.1.5 and .6), which `openssl pkcs12 -legacy` writes.
      throw new UnreadableInputError(`unsupported PKCS#12 encryption algorithm ${oidOf(algorithmOid!)}`);
  }
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // Bad padding: the MAC matched, so the bag used another password.
    throw new WrongPkcs12PasswordError();
  }
}

/** node-forge's ASN.1 reader, for decoding only (src/formats/forge.ts). */
const asn1 = (): typeof Forge.asn1 => loadForge().asn1;

// Reading helpers over forge's ASN.1 tree; every access is checked, since
// the file may come from anywhere.

function parse(bytes: Buffer): Forge.asn1.Asn1 {
  try {
    return asn1().fromDer(bytes.toString('binary'));
  } catch (error) {
    throw new UnreadableInputError(`malformed PKCS#12 content: ${(error as Error).message}`);
  }
}

function items(node: Forge.asn1.Asn1, what: string, min: number): Forge.asn1.Asn1[] {
  if (!Array.isArray(node.value) || node.value.length < min) throw new UnreadableInputError(`malformed PKCS#12 ${what}`);
  return node.value;
}

/** The bytes of an OCTET STRING, joining the pieces of a constructed (BER) one. */
function octets(node: Forge.asn1.Asn1): Buffer {
  if (typeof node.value === 'string') return Buffer.from(node.value, 'binary');
  return Buffer.concat(node.value.map(octets));
}

/** ContentInfo of type data: [0] EXPLICIT OCTET STRING. */
function dataContent(contentInfo: Forge.asn1.Asn1): Buffer {
  const [type, content] = items(contentInfo, 'ContentInfo', 2);
  if (oidOf(type!) !== OID_P12.data) throw new UnreadableInputError('PKCS#12 file is not in password integrity mode');
  return octets(items(content!, 'ContentInfo content', 1)[0]!);
}

function oidOf(node: Forge.asn1.Asn1): string {
  if (node.type !== asn1().Type.OID || typeof node.value !== 'string') throw new UnreadableInputError('malformed PKCS#12: expected an OID');
  return asn1().derToOid(node.value);
}

function integerOf(node: Forge.asn1.Asn1): number {
  if (node.type !== asn1().Type.INTEGER || typeof node.value !== 'string' || node.value.length > 4) throw new UnreadableInputError('malformed PKCS#12: expected a small INTEGER');
  return asn1().derToInteger(node.value);
}

function checkedIterations(node: Forge.asn1.Asn1): number {
  const count = integerOf(node);
  if (count < 1) throw new UnreadableInputError(`PKCS#12 iteration count ${count} is out of range`);
  if (count > MAX_ITERATIONS) throw new KeyDerivationTooCostlyError(`PKCS#12 iteration count ${count} is above the limit of ${MAX_ITERATIONS}`);
  return count;
}

function toBuffer(node: Forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1().toDer(node).getBytes(), 'binary');
}
