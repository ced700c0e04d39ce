/**
 * X.509 v2 CRLs (RFC 5280 §5). node-forge has no CRL writer; this one uses the
 * Buffer DER writer so a CRL of 100,000 entries is encoded in one pass: each
 * entry once, the outer structure around the joined list.
 */
import { createHash, verify, type KeyObject } from 'node:crypto';
import { enumerated, explicit, oid, sequence, sequenceOf, smallInteger, time, unsignedInteger } from './der';
import { content, readChildren, readTlv, slice } from './der-reader';
import { SHA256_WITH_RSA, OID, authorityKeyIdentifier, encodeExtension } from './x509';

/** RFC 5280 §5.3.1 CRLReason. */
export const REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof REASON_CODES;
/** The reasons a user may give to `revoke` (SPEC). */
export const USER_REASONS: RevocationReason[] = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'];

export interface CrlEntry {
  /** Lowercase hex serial. */
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface TbsCrlParams {
  issuerDer: Buffer;
  authorityKeyId: Buffer;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: readonly CrlEntry[];
}

function encodeEntry(entry: CrlEntry): Buffer {
  const serial = unsignedInteger(Buffer.from(entry.serial.length % 2 ? '0' + entry.serial : entry.serial, 'hex'));
  // §5.3.1: the reasonCode entry extension is absent rather than "unspecified".
  if (entry.reason === 'unspecified') return sequence(serial, time(entry.revokedAt));
  const reason = encodeExtension({ oid: OID.cRLReason, critical: false, value: enumerated(REASON_CODES[entry.reason]) });
  return sequence(serial, time(entry.revokedAt), sequence(reason));
}

export function encodeTbsCrl(p: TbsCrlParams): Buffer {
  const parts = [smallInteger(1), SHA256_WITH_RSA, p.issuerDer, time(p.thisUpdate), time(p.nextUpdate)];
  // §5.1.2.6: when there are no revoked certificates the list is absent, not empty.
  if (p.entries.length > 0) parts.push(sequenceOf(p.entries.map(encodeEntry)));
  parts.push(
    explicit(
      0,
      sequence(
        encodeExtension(authorityKeyIdentifier(p.authorityKeyId)),
        encodeExtension({ oid: OID.cRLNumber, critical: false, value: smallInteger(p.crlNumber) }),
      ),
    ),
  );
  return sequenceOf(parts);
}

export const sha256Hex = (der: Buffer): string => createHash('sha256').update(der).digest('hex');

/**
 * The CRL number of a CRL signed (sha256WithRSA) by `issuerKey`, or undefined
 * when the bytes are not such a CRL. Used to never reuse a number that is on
 * disk but not in the database (a process killed between renaming crl.pem and
 * committing its record).
 */
export function signedCrlNumber(der: Buffer, issuerKey: KeyObject): number | undefined {
  try {
    const outer = readTlv(der, 0);
    const [tbs, , signature] = readChildren(der, outer);
    if (!tbs || !signature || signature.tag !== 0x03 || outer.end !== der.length) return undefined;
    if (!verify('sha256', slice(der, tbs), issuerKey, content(der, signature).subarray(1))) return undefined;
    const extensions = readChildren(der, tbs).find((child) => child.tag === 0xa0);
    if (!extensions) return undefined;
    const cRLNumberOid = oid(OID.cRLNumber);
    for (const extension of readChildren(der, readChildren(der, extensions)[0]!)) {
      const parts = readChildren(der, extension);
      if (!slice(der, parts[0]!).equals(cRLNumberOid)) continue;
      const value = content(der, parts[parts.length - 1]!);
      const integer = readTlv(value, 0);
      const bytes = content(value, integer);
      if (integer.tag !== 0x02 || bytes.length === 0 || bytes.length > 6) return undefined;
      return bytes.readUIntBE(0, bytes.length);
    }
  } catch {
    return undefined;
  }
  return undefined;
}
