/**
 * X.509 v2 CRLs (RFC 5280 §5). node-forge has no CRL writer; this one uses the
 * Buffer DER writer so a CRL of 100,000 entries is encoded in one pass: each
 * entry once, the outer structure around the joined list.
 */
import { createHash } from 'node:crypto';
import { enumerated, explicit, oid, sequence, sequenceOf, smallInteger, time, unsignedInteger } from './der';
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
