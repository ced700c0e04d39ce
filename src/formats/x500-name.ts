/**
 * X.500 distinguished names (RFC 5280 §4.1.2.4): encode from attributes,
 * decode to text. Strings are UTF8String except countryName, which RFC 5280
 * Appendix A requires to be a PrintableString.
 */
import { content, DerError, readChildren, readOid, readTlv } from './der-reader';
import { oid, printableString, sequenceOf, set, sequence, utf8String } from './der';

export interface NameAttribute {
  /** Short name: CN, O, OU, C, L, ST, emailAddress, or a dotted OID. */
  type: string;
  value: string;
}

const SHORT_TO_OID: Record<string, string> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  serialNumber: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  street: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  title: '2.5.4.12',
  GN: '2.5.4.42',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  emailAddress: '1.2.840.113549.1.9.1',
};
const OID_TO_SHORT: Record<string, string> = Object.fromEntries(Object.entries(SHORT_TO_OID).map(([k, v]) => [v, k]));

/** Encode a Name: one attribute per RDN, in the order given (most general first). */
export function encodeName(attributes: readonly NameAttribute[]): Buffer {
  return sequenceOf(
    attributes.map((attr) => {
      const attrOid = SHORT_TO_OID[attr.type] ?? attr.type;
      const value = attrOid === SHORT_TO_OID.C ? printableString(attr.value) : utf8String(attr.value);
      return set(sequence(oid(attrOid), value));
    }),
  );
}

/** An attribute as read from DER, with what the encoding said about it. */
export interface DecodedAttribute extends NameAttribute {
  /** The string type's DER tag (0x0c UTF8String, 0x13 PrintableString...). */
  tag: number;
  /**
   * False when the bytes break their string type's alphabet: a
   * PrintableString outside X.680 §41.4's characters, an IA5String or
   * VisibleString beyond ASCII, a BMPString with a lone surrogate, or a
   * string type pocketca does not read (UniversalString, ...). Go's
   * crypto/x509 refuses such names.
   */
  wellFormed: boolean;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const ASCII = /^[\x00-\x7f]*$/;

/**
 * Decode a Name (its DER) into its RDNs, each a list of attributes, in DER
 * order. UTF8String is decoded strictly (malformed UTF-8 is an error, as it
 * was through node-forge), BMPString as UTF-16BE (X.680 §41), the other
 * string types as single octets. Read with the DER reader, not forge: `sign`
 * would load forge for this alone, ~50 ms of its start-up (issue 6).
 */
export function decodeRdns(nameDer: Buffer): DecodedAttribute[][] {
  const out: DecodedAttribute[][] = [];
  for (const rdn of readChildren(nameDer, readTlv(nameDer, 0))) {
    if (rdn.tag !== 0x31) throw new DerError('a RelativeDistinguishedName is a SET');
    const attributes: DecodedAttribute[] = [];
    for (const atv of readChildren(nameDer, rdn)) {
      const [typeTlv, valueTlv] = readChildren(nameDer, atv);
      if (!typeTlv || !valueTlv || typeTlv.tag !== 0x06 || valueTlv.tag & 0x20) throw new DerError('malformed AttributeTypeAndValue');
      const dotted = readOid(nameDer, typeTlv);
      const bytes = content(nameDer, valueTlv);
      const tag = valueTlv.tag;
      let value: string;
      let wellFormed = true;
      if (tag === 0x0c) value = decodeURIComponent(escape(bytes.toString('latin1')));
      else if (tag === 0x1e) {
        if (bytes.length % 2) throw new DerError('odd BMPString');
        value = Buffer.from(bytes).swap16().toString('utf16le');
        wellFormed = !/\p{Cs}/u.test(value);
      } else {
        value = bytes.toString('latin1');
        if (tag === 0x13) wellFormed = PRINTABLE.test(value);
        else if (tag === 0x16 || tag === 0x1a || tag === 0x12) wellFormed = ASCII.test(value);
        else if (tag !== 0x14) wellFormed = false; // T61String is read as Latin-1, as OpenSSL does
      }
      attributes.push({ type: OID_TO_SHORT[dotted] ?? dotted, value, tag, wellFormed });
    }
    out.push(attributes);
  }
  return out;
}

/** The attributes of a Name, in DER order, without the RDN grouping. */
export function decodeName(nameDer: Buffer): NameAttribute[] {
  return decodeRdns(nameDer).flatMap((rdn) => rdn.map(({ type, value }) => ({ type, value })));
}

/**
 * An attribute value escaped as RFC 4514 §2.4 asks: `" + , ; < > \` anywhere,
 * `#` or a space at the start, a space at the end, and NUL as `\00`; so
 * `CN=a+b` or `O=Smith, Inc.` reads as one attribute, not two.
 */
export function escapeAttributeValue(value: string): string {
  const chars = [...value];
  return chars
    .map((c, i) => {
      if (c === '\u0000') return '\\00';
      if ('"+,;<>\\'.includes(c) || (i === 0 && (c === ' ' || c === '#')) || (i === chars.length - 1 && c === ' ')) return `\\${c}`;
      return c;
    })
    .join('');
}

/** One-line text, DER order, like `C=DE, O=Home, CN=alice-iphone`; values escaped as RFC 4514 does. */
export function formatName(attributes: readonly NameAttribute[]): string {
  return attributes.map((a) => `${a.type}=${escapeAttributeValue(a.value)}`).join(', ');
}

export function commonNameOf(attributes: readonly NameAttribute[]): string | undefined {
  return [...attributes].reverse().find((a) => a.type === 'CN')?.value;
}

/** The CN of an encoded Name, unescaped (Node's X509Certificate.subject escapes `<`, `+`...). */
export function commonNameFromDer(nameDer: Buffer): string | undefined {
  return commonNameOf(decodeName(nameDer));
}
