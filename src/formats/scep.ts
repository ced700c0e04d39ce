/**
 * The SCEP message layer (RFC 8894): a PKIMessage in (CMS SignedData signed by
 * the requester, around an EnvelopedData encrypted to the CA), a CertRep out.
 * Bytes in, bytes out: no I/O, no clock; randomness is passed in.
 *
 * Reading is done with the project's bounds-checked DER reader, not
 * node-forge's pkcs7: the signed attributes must be verified as received
 * (RFC 5652 §5.4 signs their DER with the SET tag), which forge re-encodes,
 * and forge's EnvelopedData wants a forge private key, which would mean
 * exporting the CA key out of its KeyObject. Writing uses src/formats/der.ts.
 *
 * Ciphers: Node (OpenSSL 3) does AES-CBC and 3DES-CBC; single DES-CBC lives
 * only in OpenSSL's legacy provider, which Node does not load, and Debian's
 * scepclient (micromdm/scep 2.1) encrypts with DES-CBC when the CA does not
 * advertise AES or DES3 (captured in test/fixtures/scep/). For DES alone
 * forge's cipher is used. The reply is encrypted with the cipher the request
 * used: the requester evidently has it.
 *
 * RSA key transport (PKCS#1 v1.5): Node 20 refuses RSA_PKCS1_PADDING in
 * privateDecrypt (CVE-2023-46809, the Marvin attack), so the padding is
 * removed here after a raw RSA operation, with implicit rejection: a bad
 * padding yields a substitute key, never a distinguishable error. The
 * substitute is derived from the ciphertext and a per-enrollment secret
 * (HMAC-SHA256, as the implicit rejection of RFC 8017's errata and
 * draft-irtf-cfrg-rsa-guidance does), so the same ciphertext always gets the
 * same answer: a random one would "decrypt" now and then (a CBC padding that
 * happens to check), and asking again would tell the two apart. With the
 * enrollment's small bound on refused attempts on top, no padding oracle is
 * usable.
 *
 * Every message is walked by checkDerBounds (nesting depth, element count;
 * the size is bounded by the HTTP layer) before any field is read and before
 * any digest, signature or decryption.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, privateDecrypt, X509Certificate, publicEncrypt, sign, timingSafeEqual, verify, constants, type KeyObject } from 'node:crypto';
import { InvalidScepMessageError } from '../errors';
import { constructed, explicit, nullValue, octetString, oid, printableString, sequence, set, smallInteger, tlv } from './der';
import { checkDerBounds, content, DerError, readChildren, readOid, readTlv, slice, type DerBounds, type Tlv } from './der-reader';
import { loadForge } from './forge';

/** RFC 8894 §3.2.1.2 messageType values pocketca handles. */
export const MESSAGE_TYPE = { CertRep: 3, RenewalReq: 17, PKCSReq: 19, CertPoll: 20, GetCert: 21, GetCRL: 22 } as const;
/** RFC 8894 §3.2.1.3 pkiStatus. */
export const PKI_STATUS = { SUCCESS: 0, FAILURE: 2, PENDING: 3 } as const;
/** RFC 8894 §3.2.1.4 failInfo. */
export const FAIL_INFO = { badAlg: 0, badMessageCheck: 1, badRequest: 2, badTime: 3, badCertId: 4 } as const;
export type FailInfo = keyof typeof FAIL_INFO;

/**
 * GetCACaps (RFC 8894 §3.5.2), one capability a line. SCEPStandard implies
 * AES, POSTPKIOperation and SHA-256; they are listed too for older clients.
 * No Renewal (a device renews by a new `pocketca scep`), no GetNextCACert.
 */
export const CA_CAPS = ['AES', 'DES3', 'POSTPKIOperation', 'SHA-256', 'SHA-512', 'SCEPStandard'];

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  rsaEncryption: '1.2.840.113549.1.1.1',
  messageType: '2.16.840.1.113733.1.9.2',
  pkiStatus: '2.16.840.1.113733.1.9.3',
  failInfo: '2.16.840.1.113733.1.9.4',
  senderNonce: '2.16.840.1.113733.1.9.5',
  recipientNonce: '2.16.840.1.113733.1.9.6',
  transactionId: '2.16.840.1.113733.1.9.7',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** Digest algorithms by OID (RFC 8894 §3.5.2: SHA-1 unless SHA-256/SHA-512 are advertised). */
const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** Signature algorithms a SignerInfo may name: rsaEncryption (digest from digestAlgorithm) or sha*WithRSAEncryption. */
const SIGNATURES: Record<string, string | null> = {
  '1.2.840.113549.1.1.1': null,
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

export type ContentCipher = 'des-cbc' | 'des-ede3-cbc' | 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc';
const CIPHERS: Record<string, { name: ContentCipher; keyBytes: number; ivBytes: number }> = {
  '1.3.14.3.2.7': { name: 'des-cbc', keyBytes: 8, ivBytes: 8 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyBytes: 24, ivBytes: 8 },
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyBytes: 16, ivBytes: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyBytes: 24, ivBytes: 16 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyBytes: 32, ivBytes: 16 },
};
/**
 * A PKCSReq from scepclient or an iPhone: about 110 DER elements, 10 deep
 * (test/fixtures/scep). Generous for any client, far below what would cost
 * time: ~3,000 nested constructed OCTET STRINGs are refused here (issue 16).
 */
export const SCEP_DER_BOUNDS: DerBounds = { maxDepth: 24, maxElements: 1024 };
/** Certificates a PKIMessage may carry: its signer's, and perhaps a chain. */
export const MAX_MESSAGE_CERTIFICATES = 8;
/** The largest RSA key a signer certificate may have: pocketca certifies up to 4096 bits. */
export const MAX_SIGNER_KEY_BITS = 8192;

const CIPHER_OIDS = Object.fromEntries(Object.entries(CIPHERS).map(([o, c]) => [c.name, o])) as Record<ContentCipher, string>;

/** A verified PKIMessage (RFC 8894 §3.2): who sent it and what it carries, not yet decrypted. */
export interface PkiMessage {
  messageType: number;
  /** The requester's transactionID (PrintableString), as sent. */
  transactionId: string;
  senderNonce: Buffer;
  /** The requester's (usually self-signed) signing certificate, DER. */
  signerCertDer: Buffer;
  signerKey: KeyObject;
  /** The pkcsPKIEnvelope: the ContentInfo DER of an EnvelopedData. */
  envelope: Buffer;
}

const fail = (message: string, failInfo: FailInfo = 'badMessageCheck'): never => {
  throw new InvalidScepMessageError(message, failInfo);
};

function children(buf: Buffer, node: Tlv | undefined, what: string, tag = 0x30): Tlv[] {
  if (!node || node.tag !== tag) fail(`malformed ${what}`);
  return readChildren(buf, node!);
}

function oidAt(buf: Buffer, node: Tlv | undefined, what: string): string {
  if (!node || node.tag !== 0x06) fail(`malformed ${what}`);
  return readOid(buf, node!);
}

/**
 * An OCTET STRING's bytes; a constructed (BER) one is joined, walked with an
 * explicit stack (the message was bounded by checkDerBounds before).
 */
function octets(buf: Buffer, node: Tlv | undefined, what: string, primitive = 0x04, constructedTag = 0x24): Buffer {
  if (node?.tag === primitive) return Buffer.from(content(buf, node));
  if (node?.tag !== constructedTag) return fail(`malformed ${what}`);
  // Inside a constructed string, the segments are universal OCTET STRINGs (X.690 §8.7.3.2).
  const parts: Buffer[] = [];
  const pending: Tlv[] = readChildren(buf, node).reverse();
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (next.tag === 0x04) parts.push(content(buf, next));
    else if (next.tag === 0x24) pending.push(...readChildren(buf, next).reverse());
    else fail(`malformed ${what}`);
  }
  return Buffer.concat(parts);
}

/** ContentInfo of the given type: its [0] content. */
function contentOf(buf: Buffer, expectedType: string, what: string): Tlv {
  const outer = readTlv(buf, 0);
  if (outer.end !== buf.length) fail(`${what}: trailing data`);
  const [type, body] = children(buf, outer, what);
  if (oidAt(buf, type, what) !== expectedType) fail(`${what} is not of type ${expectedType}`);
  const [inner] = children(buf, body, what, 0xa0);
  if (!inner) fail(`${what} is empty`);
  return inner!;
}

/** RFC 5652 §10.2.4 IssuerAndSerialNumber of a certificate, from its own bytes. */
export function issuerAndSerialOf(certDer: Buffer): Buffer {
  const tbs = readChildren(certDer, readTlv(certDer, 0))[0]!;
  const fields = readChildren(certDer, tbs);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  return sequence(Buffer.from(slice(certDer, fields[offset + 2]!)), Buffer.from(slice(certDer, fields[offset]!)));
}

interface Attributes {
  [oid: string]: Tlv;
}

function readAttributes(buf: Buffer, node: Tlv): Attributes {
  const attrs: Attributes = {};
  for (const attr of readChildren(buf, node)) {
    const [type, values] = children(buf, attr, 'signed attribute');
    const id = oidAt(buf, type, 'signed attribute');
    const vals = children(buf, values, `attribute ${id}`, 0x31);
    if (vals.length !== 1 || attrs[id]) fail(`attribute ${id} must have one value, once`);
    attrs[id] = vals[0]!;
  }
  return attrs;
}

function printableAttr(buf: Buffer, attrs: Attributes, id: string, what: string): string {
  const node = attrs[id];
  if (!node || (node.tag !== 0x13 && node.tag !== 0x0c && node.tag !== 0x16)) return fail(`the message has no ${what}`);
  const text = content(buf, node).toString('utf8');
  if (!/^[\x20-\x7e]{1,128}$/.test(text)) fail(`the ${what} is not printable text of at most 128 characters`);
  return text;
}

/**
 * Parse a PKIMessage and verify its signature with the signer certificate it
 * carries (RFC 8894 §3.2: the requester signs with a self-signed certificate
 * or an earlier one; trust comes from the challenge, not from this
 * signature, which binds the message to the key the reply is encrypted to).
 */
export function parsePkiMessage(der: Buffer): PkiMessage {
  try {
    checkDerBounds(der, SCEP_DER_BOUNDS);
    return parsePkiMessageDer(der);
  } catch (error) {
    if (error instanceof DerError) return fail(`not a SCEP message (${error.message})`);
    throw error;
  }
}

function parsePkiMessageDer(der: Buffer): PkiMessage {
  const signedData = children(der, contentOf(der, OID.signedData, 'PKIMessage'), 'SignedData');
  const encap = signedData[2];
  const certsNode = signedData.find((n, i) => i > 2 && n.tag === 0xa0);
  const certs = certsNode ? readChildren(der, certsNode) : [];
  if (certs.length > MAX_MESSAGE_CERTIFICATES) fail(`the message carries ${certs.length} certificates (at most ${MAX_MESSAGE_CERTIFICATES})`);
  const signerInfos = children(der, signedData[signedData.length - 1], 'signerInfos', 0x31);
  if (signerInfos.length !== 1) fail(`the message has ${signerInfos.length} signers; SCEP has one`);
  const [eType, eContentWrap] = children(der, encap, 'encapContentInfo');
  if (oidAt(der, eType, 'encapContentInfo') !== OID.data) fail('the signed content is not data');
  const eContent = octets(der, children(der, eContentWrap, 'eContent', 0xa0)[0], 'eContent');

  const si = children(der, signerInfos[0], 'SignerInfo');
  const [, sid, digestAlg, attrsNode, sigAlg, sigNode] = si;
  if (!attrsNode || attrsNode.tag !== 0xa0) fail('the signer has no signed attributes');
  const digest = DIGESTS[oidAt(der, children(der, digestAlg, 'digestAlgorithm')[0], 'digestAlgorithm')];
  if (!digest) return fail('unsupported digest algorithm', 'badAlg');
  const sigOid = oidAt(der, children(der, sigAlg, 'signatureAlgorithm')[0], 'signatureAlgorithm');
  if (!(sigOid in SIGNATURES)) fail(`unsupported signature algorithm ${sigOid}`, 'badAlg');
  const sigDigest = SIGNATURES[sigOid] ?? digest;

  // The signer: the certificate whose issuer and serial are the sid.
  if (!sid || sid.tag !== 0x30) fail('the signer is not named by issuer and serial number');
  const sidBytes = slice(der, sid!);
  const signerNode = certs.find((c) => {
    try {
      return issuerAndSerialOf(Buffer.from(slice(der, c))).equals(sidBytes);
    } catch {
      return false;
    }
  });
  if (!signerNode) return fail("the signer's certificate is not in the message");
  const signerCertDer = Buffer.from(slice(der, signerNode));
  let signerKey: KeyObject;
  try {
    signerKey = new X509Certificate(signerCertDer).publicKey;
  } catch {
    return fail("the signer's certificate cannot be read");
  }
  if (signerKey.asymmetricKeyType !== 'rsa') fail("the signer's key is not RSA: SCEP's reply is encrypted to it with RSA");
  if ((signerKey.asymmetricKeyDetails?.modulusLength ?? Infinity) > MAX_SIGNER_KEY_BITS) fail(`the signer's RSA key is larger than ${MAX_SIGNER_KEY_BITS} bits`);

  const attrs = readAttributes(der, attrsNode!);
  const md = attrs[OID.messageDigest];
  if (!md || md.tag !== 0x04) fail('the message has no messageDigest');
  const expected = createHash(digest).update(eContent).digest();
  const got = content(der, md!);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) fail('the message digest does not match its content');
  // RFC 5652 §5.4: the signature is over the DER of the attributes with an EXPLICIT SET OF tag.
  const signedBytes = Buffer.from(slice(der, attrsNode!));
  signedBytes[0] = 0x31;
  let ok = false;
  try {
    ok = verify(sigDigest, signedBytes, signerKey, octets(der, sigNode, 'signature'));
  } catch {
    ok = false;
  }
  if (!ok) fail('the message signature does not verify');

  const typeText = printableAttr(der, attrs, OID.messageType, 'messageType');
  if (!/^\d{1,3}$/.test(typeText)) fail('the messageType is not a number');
  const nonceNode = attrs[OID.senderNonce];
  if (!nonceNode || nonceNode.tag !== 0x04) return fail('the message has no senderNonce');
  const senderNonce = Buffer.from(content(der, nonceNode));
  if (senderNonce.length < 8 || senderNonce.length > 64) fail('the senderNonce must be 8 to 64 bytes');
  return {
    messageType: Number(typeText),
    transactionId: printableAttr(der, attrs, OID.transactionId, 'transactionID'),
    senderNonce,
    signerCertDer,
    signerKey,
    envelope: eContent,
  };
}

/** PKIOperation by GET: base64 (RFC 8894 §4.1; micromdm's client sends the URL-safe alphabet) of the DER. */
export function pkiMessageFromGet(message: string): Buffer | undefined {
  // A '+' left unescaped arrives as a space through form decoding.
  const text = message.replace(/ /g, '+').replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export interface OpenedEnvelope {
  content: Buffer;
  cipher: ContentCipher;
}

/** Bytes of an implicit-rejection secret (openEnvelope's `rejectionSecret`). */
export const REJECTION_SECRET_BYTES = 32;

/**
 * The key a non-conforming block stands for: HMAC-SHA256(secret, label ||
 * counter || ciphertext), as many blocks as the content key needs. The same
 * ciphertext under the same secret always gives the same key.
 */
export function substituteKey(secret: Buffer, encryptedKey: Buffer, keyBytes: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < keyBytes; i++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    blocks.push(createHmac('sha256', secret).update('pocketca scep implicit rejection').update(counter).update(encryptedKey).digest());
  }
  return Buffer.concat(blocks).subarray(0, keyBytes);
}

/**
 * PKCS#1 v1.5 type 2 unpadding with implicit rejection (see the module
 * comment): the substitute is computed for every block, and the check runs
 * over the whole block without stopping early.
 */
function unpadKeyTransport(block: Buffer, keyBytes: number, substitute: Buffer): Buffer {
  const start = block.length - keyBytes;
  let good = block[0] === 0 && block[1] === 2 && start >= 11 && block[start - 1] === 0;
  for (let i = 2; i < start - 1; i++) good = good && block[i] !== 0;
  return good ? Buffer.from(block.subarray(start)) : substitute;
}

function decipher(cipher: ContentCipher, key: Buffer, iv: Buffer, data: Buffer): Buffer | undefined {
  if (cipher === 'des-cbc') {
    const forge = loadForge();
    const d = forge.cipher.createDecipher('DES-CBC', forge.util.createBuffer(key.toString('binary')));
    d.start({ iv: forge.util.createBuffer(iv.toString('binary')) });
    d.update(forge.util.createBuffer(data.toString('binary')));
    return d.finish() ? Buffer.from(d.output.getBytes(), 'binary') : undefined;
  }
  try {
    const d = createDecipheriv(cipher, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    return undefined;
  }
}

function encipher(cipher: ContentCipher, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  if (cipher === 'des-cbc') {
    const forge = loadForge();
    const c = forge.cipher.createCipher('DES-CBC', forge.util.createBuffer(key.toString('binary')));
    c.start({ iv: forge.util.createBuffer(iv.toString('binary')) });
    c.update(forge.util.createBuffer(data.toString('binary')));
    c.finish();
    return Buffer.from(c.output.getBytes(), 'binary');
  }
  const c = createCipheriv(cipher, key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/**
 * Decrypt a pkcsPKIEnvelope (CMS EnvelopedData, RFC 5652 §6) addressed to
 * the recipient: a KeyTransRecipientInfo naming its issuer and serial, RSA
 * PKCS#1 v1.5 key transport, a CBC content cipher. `rejectionSecret`
 * (REJECTION_SECRET_BYTES random bytes, one per enrollment) derives the key a
 * bad padding stands for.
 */
export function openEnvelope(envelope: Buffer, recipient: { certDer: Buffer; key: KeyObject }, rejectionSecret: Buffer): OpenedEnvelope {
  if (rejectionSecret.length < REJECTION_SECRET_BYTES) throw new RangeError(`the implicit-rejection secret must be ${REJECTION_SECRET_BYTES} bytes`);
  try {
    checkDerBounds(envelope, SCEP_DER_BOUNDS);
    return openEnvelopeDer(envelope, recipient, rejectionSecret);
  } catch (error) {
    if (error instanceof DerError) return fail(`not an enveloped message (${error.message})`);
    throw error;
  }
}

function openEnvelopeDer(der: Buffer, recipient: { certDer: Buffer; key: KeyObject }, rejectionSecret: Buffer): OpenedEnvelope {
  const env = children(der, contentOf(der, OID.envelopedData, 'pkcsPKIEnvelope'), 'EnvelopedData');
  const at = env[1]?.tag === 0xa0 ? 2 : 1; // [0] originatorInfo
  const recipients = children(der, env[at], 'recipientInfos', 0x31);
  const me = issuerAndSerialOf(recipient.certDer);
  const mine = recipients.find((r) => {
    const rid = r.tag === 0x30 ? readChildren(der, r)[1] : undefined;
    return rid !== undefined && rid.tag === 0x30 && slice(der, rid).equals(me);
  });
  if (!mine) return fail('the message is encrypted to another CA', 'badMessageCheck');
  const [, , keyAlg, encryptedKeyNode] = children(der, mine, 'KeyTransRecipientInfo');
  if (oidAt(der, children(der, keyAlg, 'keyEncryptionAlgorithm')[0], 'keyEncryptionAlgorithm') !== OID.rsaEncryption) {
    fail('unsupported key transport (pocketca takes RSA PKCS#1 v1.5)', 'badAlg');
  }
  const [cType, cAlg, cData] = children(der, env[at + 1], 'encryptedContentInfo');
  if (oidAt(der, cType, 'encryptedContentInfo') !== OID.data) fail('the encrypted content is not data');
  const [algOidNode, ivNode] = children(der, cAlg, 'contentEncryptionAlgorithm');
  const algOid = oidAt(der, algOidNode, 'contentEncryptionAlgorithm');
  const cipher = CIPHERS[algOid];
  if (!cipher) return fail(`unsupported content cipher ${algOid}`, 'badAlg');
  const iv = octets(der, ivNode, 'IV');
  if (iv.length !== cipher.ivBytes) fail('the IV has the wrong length');
  const data = octets(der, cData, 'encryptedContent', 0x80, 0xa0);
  if (data.length === 0 || data.length % cipher.ivBytes !== 0) fail('the encrypted content has the wrong length');

  const encryptedKey = octets(der, encryptedKeyNode, 'encryptedKey');
  const modulusBytes = Math.ceil((recipient.key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (encryptedKey.length !== modulusBytes) fail('the encrypted key has the wrong length');
  let block: Buffer;
  try {
    block = privateDecrypt({ key: recipient.key, padding: constants.RSA_NO_PADDING }, encryptedKey);
  } catch {
    return fail('the encrypted key does not decrypt');
  }
  const key = unpadKeyTransport(block, cipher.keyBytes, substituteKey(rejectionSecret, encryptedKey, cipher.keyBytes));
  const plain = decipher(cipher.name, key, iv, data);
  if (!plain) return fail('the message does not decrypt with this CA key');
  return { content: plain, cipher: cipher.name };
}

/** Build a pkcsPKIEnvelope (EnvelopedData) of `data` to the certificate's RSA key. */
export function sealEnvelope(data: Buffer, recipientCertDer: Buffer, cipher: ContentCipher, randomBytes: (n: number) => Buffer): Buffer {
  const spec = Object.values(CIPHERS).find((c) => c.name === cipher)!;
  const key = randomBytes(spec.keyBytes);
  const iv = randomBytes(spec.ivBytes);
  const recipientKey = new X509Certificate(recipientCertDer).publicKey;
  const encryptedKey = publicEncrypt({ key: recipientKey, padding: constants.RSA_PKCS1_PADDING }, key);
  const recipientInfo = sequence(smallInteger(0), issuerAndSerialOf(recipientCertDer), sequence(oid(OID.rsaEncryption), nullValue()), octetString(encryptedKey));
  const encryptedContentInfo = sequence(oid(OID.data), sequence(oid(CIPHER_OIDS[cipher]), octetString(iv)), tlv(0x80, encipher(cipher, key, iv, data)));
  return sequence(oid(OID.envelopedData), explicit(0, sequence(smallInteger(0), set(recipientInfo), encryptedContentInfo)));
}

/** A degenerate certs-only SignedData (RFC 8894 §3.3.2, RFC 5652 §5.2): the certificates, no signers. */
export function certsOnly(certsDer: Buffer[]): Buffer {
  return sequence(oid(OID.signedData), explicit(0, sequence(smallInteger(1), set(), sequence(oid(OID.data)), constructed(0xa0, certsDer), set())));
}

/** DER SET OF: the elements sorted by their encodings (X.690 §11.6). */
function setOf(elements: Buffer[]): Buffer {
  return constructed(0x31, [...elements].sort(Buffer.compare));
}

const attribute = (type: string, value: Buffer): Buffer => sequence(oid(type), set(value));

export type CertRepResult =
  | { status: 'SUCCESS'; certificatesDer: Buffer[]; cipher: ContentCipher }
  | { status: 'FAILURE'; failInfo: FailInfo };

export interface PkiMessageParams {
  messageType: number;
  transactionId: string;
  senderNonce: Buffer;
  /** CertRep: the request's senderNonce. */
  recipientNonce?: Buffer;
  pkiStatus?: number;
  failInfo?: FailInfo;
  /** The signed content: a pkcsPKIEnvelope, or empty. */
  content: Buffer;
  signer: { certDer: Buffer; key: KeyObject };
}

/**
 * A PKIMessage (RFC 8894 §3.2): SignedData over `content` with SHA-256, one
 * signer named by issuer and serial, its certificate included, and the SCEP
 * authenticated attributes in DER order.
 */
export function buildPkiMessage(p: PkiMessageParams): Buffer {
  const attrs = [
    attribute(OID.contentType, oid(OID.data)),
    attribute(OID.messageDigest, octetString(createHash('sha256').update(p.content).digest())),
    attribute(OID.messageType, printableString(String(p.messageType))),
    attribute(OID.transactionId, printableString(p.transactionId)),
    attribute(OID.senderNonce, octetString(p.senderNonce)),
  ];
  if (p.pkiStatus !== undefined) attrs.push(attribute(OID.pkiStatus, printableString(String(p.pkiStatus))));
  if (p.failInfo !== undefined) attrs.push(attribute(OID.failInfo, printableString(String(FAIL_INFO[p.failInfo]))));
  if (p.recipientNonce !== undefined) attrs.push(attribute(OID.recipientNonce, octetString(p.recipientNonce)));
  const signedAttrs = setOf(attrs);
  const signature = sign('sha256', signedAttrs, p.signer.key);
  const signerInfo = sequence(
    smallInteger(1),
    issuerAndSerialOf(p.signer.certDer),
    sequence(oid(OID.sha256), nullValue()),
    Buffer.concat([Buffer.from([0xa0]), signedAttrs.subarray(1)]),
    // rsaEncryption with the digest from digestAlgorithm: what every SCEP client verifies (RFC 5754 §3.2 allows either).
    sequence(oid(OID.rsaEncryption), nullValue()),
    octetString(signature),
  );
  const signedData = sequence(
    smallInteger(1),
    set(sequence(oid(OID.sha256), nullValue())),
    sequence(oid(OID.data), explicit(0, octetString(p.content))),
    constructed(0xa0, [p.signer.certDer]),
    set(signerInfo),
  );
  return sequence(oid(OID.signedData), explicit(0, signedData));
}

export interface CertRepParams {
  /** The request answered: its transactionID, senderNonce and signer certificate. */
  request: Pick<PkiMessage, 'transactionId' | 'senderNonce' | 'signerCertDer'>;
  result: CertRepResult;
  ca: { certDer: Buffer; key: KeyObject };
  randomBytes: (n: number) => Buffer;
}

/**
 * A CertRep PKIMessage (RFC 8894 §3.3.2), signed by the CA: messageType 3,
 * pkiStatus, the transactionID echoed, recipientNonce = the request's
 * senderNonce, a fresh senderNonce; SUCCESS carries the certificates in a
 * degenerate SignedData enveloped to the requester's signing certificate,
 * FAILURE carries failInfo and empty content.
 */
export function buildCertRep(p: CertRepParams): Buffer {
  return buildPkiMessage({
    messageType: MESSAGE_TYPE.CertRep,
    transactionId: p.request.transactionId,
    senderNonce: p.randomBytes(16),
    recipientNonce: p.request.senderNonce,
    pkiStatus: PKI_STATUS[p.result.status],
    ...(p.result.status === 'FAILURE' ? { failInfo: p.result.failInfo } : {}),
    content: p.result.status === 'SUCCESS' ? sealEnvelope(certsOnly(p.result.certificatesDer), p.request.signerCertDer, p.result.cipher, p.randomBytes) : Buffer.alloc(0),
    signer: p.ca,
  });
}
