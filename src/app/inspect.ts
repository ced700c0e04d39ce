/** `list` and `show`: read-only views of the record; no passphrase needed. */
import { X509Certificate } from 'node:crypto';
import { UsageError } from '../errors';
import { describedNameConstraints } from '../ca/name-constraints';
import { toPem } from '../formats/pem';
import { basicConstraintsOf } from '../formats/x509';
import { certificateDer, findBySerial, listCertificates, listCertificatesJson, listTableLines, listTableShape, statusOf, type CertificateRow, type ListFilter, type Status } from '../store/certificates';
import type { AppContext } from '../host/context';
import { findOne } from './find-certificate';
import { normalizeSerial } from '../ca/serial';
import { findRevocation, revocationsWithoutCertificate, type RevocationRow } from '../store/revocations';

/**
 * A listed certificate. name, subject, profile and the dates are null for a
 * revoked serial with no certificate record: one a CRL of this CA listed that
 * the restored backup never knew (`restore --deployed-crl`, issued after it).
 */
export interface ListedCertificate {
  serial: string;
  name: string | null;
  subject: string | null;
  profile: string | null;
  notBefore: string | null;
  notAfter: string | null;
  status: Status;
  revokedAt: string | null;
  reason: string | null;
  /** What made it: issue, sign, renew, scep (SPEC third release: `list --json` gained it, last); null without a record. */
  source: string | null;
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
export const profileText = (row: { profile: string; source: string | null }): string => (row.source === 'scep' ? `${row.profile} (scep)` : row.profile);

function listFilter(ctx: AppContext, p: ListParams): ListFilter {
  const now = ctx.now();
  let expiringBefore: string | undefined;
  if (p.expiringDays !== undefined) {
    if (!Number.isInteger(p.expiringDays) || p.expiringDays < 0) throw new UsageError('--expiring needs a whole number of days');
    expiringBefore = new Date(now.getTime() + p.expiringDays * 86_400_000).toISOString();
  }
  return { status: expiringBefore && p.status === 'all' ? 'valid' : p.status, now: now.toISOString(), expiringBefore };
}

/** What `list` shows for a revoked serial without a certificate record, in the SUBJECT column. */
export const UNRECORDED_SUBJECT = '(no record here; revoked on a CRL)';

/**
 * Revoked serials with no certificate record, for a list of revoked ones
 * (`--revoked`, `--all`): they come after the certificates, oldest first.
 */
function unrecordedRevocations(ctx: AppContext, filter: ListFilter): ListedCertificate[] {
  if ((filter.status !== 'revoked' && filter.status !== 'all') || filter.expiringBefore) return [];
  return revocationsWithoutCertificate(ctx.home.database()).map(unrecordedListed);
}

const unrecordedListed = (r: RevocationRow): ListedCertificate => ({
  serial: r.serial,
  name: null,
  subject: null,
  profile: null,
  notBefore: null,
  notAfter: null,
  status: 'revoked',
  revokedAt: r.revokedAt,
  reason: r.reason,
  source: null,
});

/** The cells of `list`'s table for one row: SERIAL, NAME, PROFILE, STATUS, EXPIRES, SUBJECT ("-" where a revoked serial has no record). */
export const listCells = (c: ListedCertificate): string[] => [
  c.serial,
  c.name ?? '-',
  c.profile === null ? '-' : profileText({ profile: c.profile, source: c.source }),
  c.status === 'revoked' ? `revoked (${c.reason})` : c.status,
  c.notAfter?.slice(0, 10) ?? '-',
  c.subject ?? UNRECORDED_SUBJECT,
];

export function listCerts(ctx: AppContext, p: ListParams): ListedCertificate[] {
  const filter = listFilter(ctx, p);
  return [...listCertificates(ctx.home.database(), filter).map((r) => toListed(r, filter.now)), ...unrecordedRevocations(ctx, filter)];
}

/** listCerts as JSON text, one certificate at a time, written by the store (see listCertificatesJson). */
export function* listCertsJson(ctx: AppContext, p: ListParams): Generator<string> {
  const filter = listFilter(ctx, p);
  yield* listCertificatesJson(ctx.home.database(), filter);
  // Laid out as the store lays out an element of JSON.stringify(rows, null, 2).
  for (const c of unrecordedRevocations(ctx, filter)) yield JSON.stringify(c, null, 2).replace(/^/gm, '  ');
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
  const unrecorded = unrecordedRevocations(ctx, filter).map(listCells);
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, shape.widths[i] ?? 0, ...unrecorded.map((cells) => cells[i]!.length)));
  const pad = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return { rows: shape.rows + unrecorded.length, widths, lines: chain(listTableLines(db, filter, widths), unrecorded.map(pad)) };
}

function* chain<T>(...parts: Iterable<T>[]): Generator<T> {
  for (const part of parts) yield* part;
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

/** `show` of a revoked serial with no certificate record: what is known, the revocation. */
export interface ShownUnrecorded extends ListedCertificate {
  /** Why there is nothing more to show. */
  note: string;
}

export function showCert(ctx: AppContext, ref: string): ShownCertificate | ShownUnrecorded {
  const db = ctx.home.database();
  const serial = normalizeSerial(ref);
  const unrecorded = serial !== undefined && !findBySerial(db, serial) ? findRevocation(db, serial) : undefined;
  if (unrecorded) {
    return {
      ...unrecordedListed(unrecorded),
      note: 'revoked on a CRL of this CA that restore kept (--deployed-crl, or the home it replaced); its certificate was issued after the restored backup was made, so no record of it is here',
    };
  }
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
