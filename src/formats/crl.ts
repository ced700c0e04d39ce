/**
 * X.509 v2 CRLs (RFC 5280 §5). node-forge has no CRL writer; this one uses the
 * Buffer DER writer for the outer structure and writes the revoked list
 * straight into one buffer, so a CRL of 100,000 entries is encoded in one
 * pass without a Buffer (or a Date) per entry: each entry once, the outer
 * structure around the list.
 */
import { createHash } from 'node:crypto';
import { DER_TAGS, derHeader, enumerated, explicit, oid, sequence, smallInteger, time, unsignedInteger } from './der';
import { OID, SHA256_WITH_RSA, authorityKeyIdentifier, encodeExtension } from './x509';

/**
 * RFC 5280 §5.3.1 CRLReason: the permanent ones. A revocation is permanent
 * (SPEC; §3.3): certificateHold (6), the one reason that may be undone, and
 * removeFromCRL (8), which undoes it in a delta CRL, are never written.
 */
export const REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof REASON_CODES;
/**
 * The reasons a user may give to `revoke` (SPEC), in RFC 5280 §5.3.1 order.
 * Not certificateHold: a revocation is permanent here (no hold, no
 * removeFromCRL). cACompromise is for an intermediate only (src/app/revoke.ts).
 */
export const USER_REASONS: RevocationReason[] = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'];

/** `text` when it names a reason pocketca records (REASON_CODES: never certificateHold). */
export function asRecordedReason(text: unknown): RevocationReason | undefined {
  return typeof text === 'string' && Object.hasOwn(REASON_CODES, text) ? (text as RevocationReason) : undefined;
}

/** The reason a CRL entry's reasonCode stands for, if pocketca records it (certificateHold and codes it never writes: undefined). */
export function reasonOfCode(code: number): RevocationReason | undefined {
  return (Object.entries(REASON_CODES) as [RevocationReason, number][]).find(([, value]) => value === code)?.[0];
}

export interface CrlEntry {
  /** Lowercase hex serial. */
  serial: string;
  /** A Date, or ISO-8601 UTC text as the store keeps it (`2026-03-01T12:00:00.000Z`), which spares a Date per entry. */
  revokedAt: Date | string;
  reason: RevocationReason;
}

export interface TbsCrlParams {
  issuerDer: Buffer;
  authorityKeyId: Buffer;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Read once, in order; a generator over the store keeps 100,000 of them out of memory. */
  entries: Iterable<CrlEntry>;
  /** The issuer's signature AlgorithmIdentifier (DER), as the signature will carry it (§5.1.2.2); default sha256WithRSAEncryption. */
  signatureAlgorithm?: Buffer;
}

/** The entry through the general DER writer: serials or times the fast path does not take. */
function encodeEntry(entry: CrlEntry): Buffer {
  const serial = unsignedInteger(Buffer.from(entry.serial.length % 2 ? '0' + entry.serial : entry.serial, 'hex'));
  const revokedAt = time(typeof entry.revokedAt === 'string' ? new Date(entry.revokedAt) : entry.revokedAt);
  const reason = reasonExtensions(entry.reason);
  return reason ? sequence(serial, revokedAt, reason) : sequence(serial, revokedAt);
}

const reasonCache = new Map<RevocationReason, Buffer>();
/**
 * crlEntryExtensions holding the reasonCode (§5.3.1), encoded once each; none
 * for "unspecified" (§5.3.1: the extension is absent rather than unspecified),
 * nor for any text that is not a permanent reason (a record written by hand,
 * "certificateHold"): the certificate is listed, revoked for good, without one.
 */
function reasonExtensions(reason: RevocationReason): Buffer | undefined {
  if (reason === 'unspecified' || !Object.hasOwn(REASON_CODES, reason)) return undefined;
  let encoded = reasonCache.get(reason);
  if (!encoded) {
    encoded = sequence(encodeExtension({ oid: OID.cRLReason, critical: false, value: enumerated(REASON_CODES[reason]) }));
    reasonCache.set(reason, encoded);
  }
  return encoded;
}

/** A serial of at most 20 octets (§4.1.2.2) and a pad; time and reason keep an entry under 128 octets. */
const MAX_SERIAL_OCTETS = 21;
const MAX_ENTRY_OCTETS = 2 + (2 + MAX_SERIAL_OCTETS) + 17 + 16;
/** ISO-8601 UTC as Date#toISOString writes it, the fraction optional. */
const ISO_UTC = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?Z$/;
const ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
/** Hex digit values by character code, -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Write one revokedCertificates entry (§5.1.2.6) at `pos`; returns the end, or
 * -1 when the entry needs the general writer (an odd serial, a GeneralizedTime,
 * time text it does not read).
 * The bytes are what encodeEntry writes: same INTEGER, same time, same reason.
 */
function writeEntry(out: Buffer, pos: number, entry: CrlEntry): number {
  const hex = entry.serial;
  // A Date becomes the same text time() reads (and throws the same RangeError when invalid).
  const iso = typeof entry.revokedAt === 'string' ? entry.revokedAt : entry.revokedAt.toISOString();
  if (hex.length === 0 || hex.length % 2 !== 0 || !ISO_UTC.test(iso)) return -1;
  const year = Number(iso.slice(0, 4));
  if (year < 1950 || year >= 2050) return -1; // GeneralizedTime or out of range: the general writer decides
  // Date rolls 30 February over into March; leave such text to it.
  const month = Number(iso.slice(5, 7));
  if (Number(iso.slice(8, 10)) > (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!)) return -1;
  // INTEGER: leading zero octets dropped, one added when the top bit is set (X.690 §8.3.2).
  let start = 0;
  while (start < hex.length - 2 && hex.charCodeAt(start) === 0x30 && hex.charCodeAt(start + 1) === 0x30) start += 2;
  const octets = (hex.length - start) / 2;
  const pad = hex.charCodeAt(start) >= 0x38 ? 1 : 0; // first hex digit 8-f
  if (octets + pad > MAX_SERIAL_OCTETS) return -1;
  const reason = reasonExtensions(entry.reason);
  const length = 2 + octets + pad + 15 + (reason?.length ?? 0);
  out[pos] = DER_TAGS.SEQUENCE;
  out[pos + 1] = length;
  out[pos + 2] = DER_TAGS.INTEGER;
  out[pos + 3] = octets + pad;
  let at = pos + 4;
  if (pad) out[at++] = 0;
  for (let i = start; i < hex.length; i += 2) {
    const high = HEX[hex.charCodeAt(i)] ?? -1;
    const low = HEX[hex.charCodeAt(i + 1)] ?? -1;
    if (high < 0 || low < 0) return -1; // not hex: the general writer does what Buffer.from does
    out[at++] = (high << 4) | low;
  }
  // UTCTime YYMMDDHHMMSSZ (§4.1.2.5.1), the fraction dropped as time() drops it.
  out[at++] = DER_TAGS.UTC_TIME;
  out[at++] = 13;
  for (let i = 2; i < ISO_DIGITS.length; i++) out[at++] = iso.charCodeAt(ISO_DIGITS[i]!);
  out[at++] = 0x5a; // Z
  if (reason) at += reason.copy(out, at);
  return at;
}

/** The entries go into buffers of this size, written in place. */
const CHUNK_OCTETS = 256 * 1024;

/**
 * revokedCertificates (§5.1.2.6): the SEQUENCE OF's header and its entries,
 * as buffers to concatenate once into the TBSCertList. No Buffer per entry:
 * they are written straight into chunks of CHUNK_OCTETS.
 */
function writeRevokedCertificates(entries: Iterable<CrlEntry>): { parts: Buffer[]; count: number } {
  const parts: Buffer[] = [];
  let chunk = Buffer.allocUnsafe(CHUNK_OCTETS);
  let start = 0;
  let pos = 0;
  let count = 0;
  for (const entry of entries) {
    count++;
    if (pos + MAX_ENTRY_OCTETS > chunk.length) {
      parts.push(chunk.subarray(start, pos));
      chunk = Buffer.allocUnsafe(CHUNK_OCTETS);
      start = pos = 0;
    }
    const end = writeEntry(chunk, pos, entry);
    if (end >= 0) pos = end;
    else {
      parts.push(chunk.subarray(start, pos), encodeEntry(entry));
      start = pos;
    }
  }
  parts.push(chunk.subarray(start, pos));
  return { parts: [derHeader(DER_TAGS.SEQUENCE, parts), ...parts], count };
}

/**
 * The TBSCertList (§5.1) as buffers that, concatenated in order, are its DER:
 * the SEQUENCE header, then the fields, the revoked list as the chunks it was
 * written in. A CRL of 1,000,000 entries is 40 MB; hashed, signed and turned
 * into PEM piece by piece it is never copied whole (issue 13).
 */
export function encodeTbsCrlParts(p: TbsCrlParams): Buffer[] {
  const parts = [smallInteger(1), p.signatureAlgorithm ?? SHA256_WITH_RSA, p.issuerDer, time(p.thisUpdate), time(p.nextUpdate)];
  const revoked = writeRevokedCertificates(p.entries);
  // §5.1.2.6: when there are no revoked certificates the list is absent, not empty.
  if (revoked.count > 0) parts.push(...revoked.parts);
  parts.push(
    explicit(
      0,
      sequence(
        encodeExtension(authorityKeyIdentifier(p.authorityKeyId)),
        encodeExtension({ oid: OID.cRLNumber, critical: false, value: smallInteger(p.crlNumber) }),
      ),
    ),
  );
  return [derHeader(DER_TAGS.SEQUENCE, parts), ...parts];
}

export function encodeTbsCrl(p: TbsCrlParams): Buffer {
  return Buffer.concat(encodeTbsCrlParts(p));
}

export const sha256Hex = (der: Buffer): string => createHash('sha256').update(der).digest('hex');
