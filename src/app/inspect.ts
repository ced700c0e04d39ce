/** `list` and `show`: read-only views of the record; no passphrase needed. */
import { X509Certificate } from 'node:crypto';
import { UsageError } from '../errors';
import { describedNameConstraints } from '../ca/name-constraints';
import { toPem } from '../formats/pem';
import { basicConstraintsOf } from '../formats/x509';
import { certificateDer, listCertificates, listCertificatesJson, listTableLines, listTableShape, statusOf, type CertificateRow, type ListFilter, type Status } from '../store/certificates';
import type { AppContext } from '../host/context';
import { findOne } from './find-certificate';

export interface ListedCertificate {
  serial: string;
  name: string;
  subject: string;
  profile: string;
  notBefore: string;
  notAfter: string;
  status: Status;
  revokedAt: string | null;
  reason: string | null;
  /** What made it: issue, sign, renew, scep (SPEC third release: `list --json` gained it, last). */
  source: string;
}

export interface ListParams {
  status: Status | 'all';
  /** Only those expiring within this many days (and not yet revoked). */
  expiringDays?: number;
}

const toListed = (row: CertificateRow, now: string): ListedCertificate => ({
  serial: row.serial,
  name: row.name,
  subject: row.subject,
  profile: row.profile,
  notBefore: row.notBefore,
  notAfter: row.notAfter,
  status: statusOf(row, now),
  revokedAt: row.revokedAt,
  reason: row.reason,
  source: row.source,
});

/** The PROFILE column of `list`'s table for a row in hand, as the store's SQL writes it: `client (scep)` for a SCEP-enrolled one. */
export const profileText = (row: { profile: string; source: string }): string => (row.source === 'scep' ? `${row.profile} (scep)` : row.profile);

function listFilter(ctx: AppContext, p: ListParams): ListFilter {
  const now = ctx.now();
  let expiringBefore: string | undefined;
  if (p.expiringDays !== undefined) {
    if (!Number.isInteger(p.expiringDays) || p.expiringDays < 0) throw new UsageError('--expiring needs a whole number of days');
    expiringBefore = new Date(now.getTime() + p.expiringDays * 86_400_000).toISOString();
  }
  return { status: expiringBefore && p.status === 'all' ? 'valid' : p.status, now: now.toISOString(), expiringBefore };
}

export function listCerts(ctx: AppContext, p: ListParams): ListedCertificate[] {
  const filter = listFilter(ctx, p);
  return listCertificates(ctx.home.database(), filter).map((r) => toListed(r, filter.now));
}

/** listCerts as JSON text, one certificate at a time, written by the store (see listCertificatesJson). */
export function listCertsJson(ctx: AppContext, p: ListParams): Iterable<string> {
  return listCertificatesJson(ctx.home.database(), listFilter(ctx, p));
}

/**
 * listCerts as `list`'s table, laid out by SQLite row by row: the column
 * widths (at least those of `header`) and the lines under the header.
 * Undefined when a cell is not printable ASCII: formatTable lays those out,
 * escaping control characters.
 */
export function listCertsTable(ctx: AppContext, p: ListParams, header: readonly string[]): { rows: number; widths: number[]; lines: Iterable<string> } | undefined {
  const db = ctx.home.database();
  const filter = listFilter(ctx, p);
  const shape = listTableShape(db, filter);
  if (!shape.printableAscii) return undefined;
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, shape.widths[i] ?? 0));
  return { rows: shape.rows, widths, lines: listTableLines(db, filter, widths) };
}

export interface ShownCertificate extends ListedCertificate {
  fingerprintSha256: string;
  issuedAt: string;
  issuer: string;
  subjectAltName: string | null;
  extKeyUsage: string[];
  /** An intermediate's pathLenConstraint; absent for an end entity. */
  pathLen?: number;
  /** The nameConstraints it carries (an intermediate of a constrained root), described; null if none. */
  nameConstraints: string | null;
  pem: string;
}

export function showCert(ctx: AppContext, ref: string): ShownCertificate {
  const db = ctx.home.database();
  const row = findOne(db, ref);
  const der = certificateDer(db, row.serial)!;
  const x509 = new X509Certificate(der);
  return {
    ...toListed(row, ctx.now().toISOString()),
    fingerprintSha256: row.fingerprintSha256,
    issuedAt: row.issuedAt,
    issuer: x509.issuer.replace(/\n/g, ', '),
    subjectAltName: x509.subjectAltName ?? null,
    extKeyUsage: x509.keyUsage ?? [],
    ...(x509.ca ? { pathLen: basicConstraintsOf(der).pathLen } : {}),
    nameConstraints: describedNameConstraints(der),
    pem: toPem('CERTIFICATE', der),
  };
}
