/**
 * A minimal DER writer over Buffers (ITU-T X.690 §8, §10).
 *
 * node-forge's asn1 builds binary strings and re-copies every child on each
 * level; a CRL with 100,000 entries spends most of its time there. Here each
 * value is encoded once and a constructed value is one Buffer.concat of its
 * children, so encoding is linear in the output size. forge is still used to
 * *read* ASN.1 (CSRs, PKCS#12, PKCS#7).
 */

const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** The tag and length octets of a TLV whose content is `parts` concatenated (the content written apart). */
export function derHeader(tag: number, parts: readonly Buffer[]): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  return Buffer.concat([Buffer.from([tag]), encodeLength(length)]);
}

/** Tag-length-value with the given content. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** Tag-length-value around already-encoded children, copied once. */
export function constructed(tag: number, children: readonly Buffer[]): Buffer {
  let length = 0;
  for (const child of children) length += child.length;
  return Buffer.concat([Buffer.from([tag]), encodeLength(length), ...children], 1 + encodeLength(length).length + length);
}

export const sequence = (...children: Buffer[]): Buffer => constructed(TAG.SEQUENCE, children);
export const sequenceOf = (children: readonly Buffer[]): Buffer => constructed(TAG.SEQUENCE, children);
export const set = (...children: Buffer[]): Buffer => constructed(TAG.SET, children);

/** [n] EXPLICIT: a constructed context-specific tag around one value. */
export const explicit = (n: number, child: Buffer): Buffer => constructed(0xa0 | n, [child]);
/** [n] IMPLICIT on a primitive value: same content, context tag. */
export const implicitPrimitive = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);

export const nullValue = (): Buffer => Buffer.from([TAG.NULL, 0]);
export const boolean = (value: boolean): Buffer => tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0]));
export const octetString = (content: Buffer): Buffer => tlv(TAG.OCTET_STRING, content);
export const utf8String = (value: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'));
export const printableString = (value: string): Buffer => tlv(TAG.PRINTABLE_STRING, Buffer.from(value, 'ascii'));
export const ia5String = (value: string): Buffer => tlv(TAG.IA5_STRING, Buffer.from(value, 'ascii'));

/** A BIT STRING with no unused bits (signatures, public keys). */
export const bitString = (content: Buffer): Buffer => tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), content]));

/** An unsigned big-endian integer; adds the 0x00 that keeps it positive. */
export function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  let content = bytes.subarray(start);
  if (content.length === 0) content = Buffer.from([0]);
  if (content[0]! & 0x80) content = Buffer.concat([Buffer.from([0]), content]);
  return tlv(TAG.INTEGER, content);
}

export function smallInteger(value: number, tag: number = TAG.INTEGER): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a small non-negative integer: ${value}`);
  const bytes: number[] = [];
  let n = value;
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

export const enumerated = (value: number): Buffer => smallInteger(value, TAG.ENUMERATED);

const oidCache = new Map<string, Buffer>();
export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0) || arcs[0]! > 2 || (arcs[0]! < 2 && arcs[1]! > 39)) throw new RangeError(`bad OID ${dotted}`);
  // X.690 §8.19.4: the first two arcs share one subidentifier, which for
  // arc 2 can exceed 127 and then needs base-128 like the others.
  const bytes: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift((n & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  const encoded = tlv(TAG.OID, Buffer.from(bytes));
  oidCache.set(dotted, encoded);
  return encoded;
}

/**
 * RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050,
 * always in UTC with seconds and no fractions.
 */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-23T10:00:00.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'; // 20261123100000Z
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError(`date out of range: ${iso}`);
  return year < 2050 ? tlv(TAG.UTC_TIME, Buffer.from(digits.slice(2), 'ascii')) : tlv(TAG.GENERALIZED_TIME, Buffer.from(digits, 'ascii'));
}

export const DER_TAGS = TAG;
