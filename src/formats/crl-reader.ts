/**
 * Reading back a CRL (RFC 5280 §5.1): its dates, its signed bytes and its
 * signature, enough to tell how long a proxy will keep accepting clients and
 * whether the file is really this CA's. Input may be hostile or truncated:
 * every step goes through the bounds-checked DER reader.
 */
import { DER_TAGS } from './der';
import { DerError, content, readChildren, readOid, readTlv, slice, type Tlv } from './der-reader';
import { fromPem, looksLikePem } from './pem';

export interface ReadCrl {
  /** The tbsCertList bytes exactly as signed. */
  tbsDer: Buffer;
  /** The issuer Name's DER (§5.1.2.3). */
  issuerDer: Buffer;
  signature: Buffer;
  thisUpdate: Date;
  /** Absent in a CRL that promises no next one (pocketca always sets it). */
  nextUpdate?: Date;
  /** How many certificates it lists. */
  entries: number;
  /** The cRLNumber extension (§5.2.3), when it has one that fits a JavaScript number. */
  number?: number;
}

/** id-ce-cRLNumber, 2.5.29.20, as its DER content octets. */
const CRL_NUMBER_OID = Buffer.from([0x55, 0x1d, 0x14]);

/** The cRLNumber in crlExtensions ([0] EXPLICIT Extensions), or undefined. */
function readCrlNumber(der: Buffer, extensionsTlv: Tlv | undefined): number | undefined {
  if (!extensionsTlv || extensionsTlv.tag !== 0xa0) return undefined;
  const list = readChildren(der, extensionsTlv)[0];
  if (!list) return undefined;
  for (const extension of readChildren(der, list)) {
    const parts = readChildren(der, extension);
    if (parts[0]?.tag !== 0x06 || !content(der, parts[0]).equals(CRL_NUMBER_OID)) continue;
    const value = content(der, parts[parts.length - 1]!);
    const integer = readTlv(value, 0);
    const octets = content(value, integer);
    // Six octets is 2^48: more CRLs than anyone signs; a larger one is not trusted as a number.
    return integer.tag === 0x02 && octets.length > 0 && octets.length <= 6 && (octets[0]! & 0x80) === 0 ? octets.readUIntBE(0, octets.length) : undefined;
  }
  return undefined;
}

export class CrlFormatError extends Error {}

function readTime(buf: Buffer, tlv: Tlv): Date {
  const text = content(buf, tlv).toString('latin1');
  let m: RegExpExecArray | null;
  if (tlv.tag === DER_TAGS.UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    // §4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
    const yy = Number(m[1]);
    return new Date(Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  if (tlv.tag === DER_TAGS.GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  throw new CrlFormatError(`bad time in CRL: ${JSON.stringify(text)}`);
}

const isTime = (t: Tlv | undefined): t is Tlv => t !== undefined && (t.tag === DER_TAGS.UTC_TIME || t.tag === DER_TAGS.GENERALIZED_TIME);

/** The parts of a CertificateList (§5.1) the readers below need. */
interface CrlParts {
  tbs: Tlv;
  signatureValue: Tlv;
  fields: Tlv[];
  thisUpdate: Tlv;
  nextUpdate: Tlv | undefined;
  /** revokedCertificates (§5.1.2.6), absent when the CRL lists none. */
  list: Tlv | undefined;
}

function crlParts(der: Buffer): CrlParts {
  const outer = readTlv(der, 0);
  const [tbs, , signatureValue] = readChildren(der, outer);
  if (!tbs || !signatureValue || signatureValue.tag !== 0x03) throw new CrlFormatError('not a CertificateList');
  const fields = readChildren(der, tbs);
  // version (optional INTEGER), signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?, [0] extensions
  const start = fields[0]?.tag === 0x02 ? 1 : 0;
  const thisUpdate = fields[start + 2];
  if (!isTime(thisUpdate)) throw new CrlFormatError('CRL has no thisUpdate');
  const maybeNext = fields[start + 3];
  const nextUpdate = isTime(maybeNext) ? maybeNext : undefined;
  const list = fields[start + (nextUpdate ? 4 : 3)];
  return { tbs, signatureValue, fields, thisUpdate, nextUpdate, list: list && list.tag === 0x30 ? list : undefined };
}

/** A DerError is a malformed CRL. */
function asCrlFormatError(error: unknown): unknown {
  return error instanceof DerError ? new CrlFormatError(`malformed CRL: ${error.message}`) : error;
}

export function readCrl(der: Buffer): ReadCrl {
  try {
    const { tbs, signatureValue, fields, thisUpdate, nextUpdate, list } = crlParts(der);
    const entries = list ? readChildren(der, list).length : 0;
    const number = readCrlNumber(der, fields[fields.length - 1]);
    // BIT STRING: the first content byte counts unused bits (0 for a signature).
    const signature = content(der, signatureValue).subarray(1);
    const issuer = fields[fields[0]?.tag === 0x02 ? 2 : 1];
    if (issuer?.tag !== 0x30) throw new CrlFormatError('CRL has no issuer');
    return {
      tbsDer: slice(der, tbs),
      issuerDer: slice(der, issuer),
      signature,
      thisUpdate: readTime(der, thisUpdate),
      nextUpdate: nextUpdate ? readTime(der, nextUpdate) : undefined,
      entries,
      ...(number === undefined ? {} : { number }),
    };
  } catch (error) {
    throw asCrlFormatError(error);
  }
}

/** One revokedCertificates entry (§5.1.2.6) as read. */
export interface RevokedEntry {
  /** Lowercase hex, leading zero octets dropped (as pocketca stores serials). */
  serial: string;
  revokedAt: Date;
  /** The reasonCode entry extension's value (§5.3.1); undefined when absent. */
  reasonCode?: number;
  /** OIDs of critical entry extensions other than reasonCode (§5.3: a reader must not ignore them). */
  unknownCritical: string[];
}

/** id-ce-cRLReasons, 2.5.29.21. */
const REASON_CODE_OID = Buffer.from([0x55, 0x1d, 0x15]);

function readEntry(der: Buffer, entry: Tlv): RevokedEntry {
  const [serialTlv, time, extensions] = readChildren(der, entry);
  if (entry.tag !== 0x30 || serialTlv?.tag !== 0x02 || !isTime(time)) throw new CrlFormatError('a revoked entry is not {serial, revocationDate}');
  let hex = content(der, serialTlv).toString('hex');
  if (hex.length === 0 || hex.length > 42) throw new CrlFormatError('a revoked serial is empty or longer than 21 octets');
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  const read: RevokedEntry = { serial: hex, revokedAt: readTime(der, time), unknownCritical: [] };
  if (extensions) {
    if (extensions.tag !== 0x30) throw new CrlFormatError('a revoked entry has malformed extensions');
    for (const extension of readChildren(der, extensions)) {
      const parts = readChildren(der, extension);
      if (parts[0]?.tag !== 0x06 || parts.length < 2 || parts.length > 3) throw new CrlFormatError('a revoked entry has a malformed extension');
      const critical = parts.length === 3 && parts[1]!.tag === 0x01 && content(der, parts[1]!)[0] !== 0;
      const value = parts[parts.length - 1]!;
      if (content(der, parts[0]).equals(REASON_CODE_OID)) {
        const inner = content(der, value);
        const enumerated = readTlv(inner, 0);
        const octets = content(inner, enumerated);
        if (value.tag !== 0x04 || enumerated.tag !== 0x0a || octets.length !== 1) throw new CrlFormatError('a revoked entry has a malformed reasonCode');
        read.reasonCode = octets[0]!;
      } else if (critical) read.unknownCritical.push(readOid(der, parts[0]));
    }
  }
  return read;
}

/**
 * Each entry of a CRL's revokedCertificates (§5.1.2.6), one at a time (a
 * million of them are never held at once). Every step goes through the
 * bounds-checked DER reader, and a CRL nests two levels below its list, so
 * nothing here recurses on input.
 */
function* entriesOf(der: Buffer): Generator<Tlv> {
  let list: Tlv | undefined;
  try {
    list = crlParts(der).list;
  } catch (error) {
    throw asCrlFormatError(error);
  }
  for (let pos = list?.contentStart ?? 0; list && pos < list.end; ) {
    let entry: Tlv;
    try {
      entry = readTlv(der, pos, list.end);
    } catch (error) {
      if (error instanceof DerError) throw new CrlFormatError(`malformed CRL entry: ${error.message}`);
      throw error;
    }
    pos = entry.end;
    yield entry;
  }
}

/** The revoked entries of a CRL, one at a time, with their dates, reasons and critical extensions. It does not check the signature: verify first. */
export function* revokedEntries(der: Buffer): Generator<RevokedEntry> {
  for (const tlv of entriesOf(der)) {
    try {
      yield readEntry(der, tlv);
    } catch (error) {
      if (error instanceof DerError) throw new CrlFormatError(`malformed CRL entry: ${error.message}`);
      throw error;
    }
  }
}

/**
 * A CRL file's DER, whichever way it was written: PEM (`crl.pem`, `crl --out`)
 * or DER (`crl --der --out`, what some appliances take). Undefined when it is
 * neither: PEM without an X509 CRL block, or bytes that are not one whole
 * DER SEQUENCE.
 */
export function crlDerFrom(bytes: Buffer): Buffer | undefined {
  if (looksLikePem(bytes)) return fromPem(bytes.toString('latin1'), ['X509 CRL']);
  try {
    const outer = readTlv(bytes, 0);
    return outer.tag === 0x30 && outer.end === bytes.length ? bytes : undefined;
  } catch (error) {
    if (error instanceof DerError) return undefined;
    throw error;
  }
}

/**
 * The serial of each certificate a CRL lists (§5.1.2.6 userCertificate), in
 * order: the INTEGER's content octets without the zero octets it may start
 * with (00 c1 is c1), as views into `der`. It does not check the signature:
 * verify first.
 */
export function* revokedSerialsOf(der: Buffer): Generator<Buffer> {
  for (const entry of entriesOf(der)) {
    let serial: Tlv;
    try {
      if (entry.tag !== 0x30) throw new CrlFormatError('a revoked certificate entry that is not a SEQUENCE');
      serial = readTlv(der, entry.contentStart, entry.end);
    } catch (error) {
      throw asCrlFormatError(error);
    }
    if (serial.tag !== 0x02) throw new CrlFormatError('a revoked certificate entry without a serial number');
    let start = serial.contentStart;
    while (start < serial.end - 1 && der[start] === 0) start++;
    yield der.subarray(start, serial.end);
  }
}
