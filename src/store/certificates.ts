import { prepared, type Db } from './database';

export type Profile = 'client' | 'server' | 'profile-signer' | 'intermediate';
export type Source = 'issue' | 'sign' | 'renew' | 'internal' | 'scep';
export type Status = 'valid' | 'revoked' | 'expired';

export interface CertificateRecord {
  serial: string;
  name: string;
  profile: Profile;
  source: Source;
  subject: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  issuedAt: string;
}

export interface CertificateRow extends CertificateRecord {
  revokedAt: string | null;
  reason: string | null;
}

const COLUMNS = `c.serial, c.name, c.profile, c.source, c.subject, c.not_before AS notBefore,
  c.not_after AS notAfter, c.fingerprint_sha256 AS fingerprintSha256, c.issued_at AS issuedAt,
  r.revoked_at AS revokedAt, r.reason AS reason`;
/** Every certificate with its revocation, if any. */
const ALL_FROM = 'certificates c LEFT JOIN revocations r ON r.serial = c.serial';
/**
 * Only revoked ones, which are few: SQLite walks the revocations and looks
 * each certificate up (CROSS JOIN fixes that order). Left to itself it may
 * walk all 100,000 certificates and probe revocations for each (issue 6).
 */
const REVOKED_FROM = 'revocations r CROSS JOIN certificates c ON c.serial = r.serial';
const SELECT = `SELECT ${COLUMNS} FROM ${ALL_FROM}`;

export function insertCertificate(db: Db, record: CertificateRecord, der: Buffer): void {
  db.prepare(
    `INSERT INTO certificates (serial, name, profile, source, subject, not_before, not_after, fingerprint_sha256, issued_at)
     VALUES (@serial, @name, @profile, @source, @subject, @notBefore, @notAfter, @fingerprintSha256, @issuedAt)`,
  ).run(record);
  db.prepare('INSERT INTO certificate_ders (serial, der) VALUES (?, ?)').run(record.serial, der);
}

export function findBySerial(db: Db, serial: string): CertificateRow | undefined {
  return prepared(db, `${SELECT} WHERE c.serial = ?`).get(serial) as CertificateRow | undefined;
}

/**
 * Certificates whose serial starts with `prefix` (lowercase hex), at most
 * `limit`, in serial order. A range on the primary key: every serial with
 * the prefix sorts from the prefix itself up to it with a `g` appended.
 */
export function findBySerialPrefix(db: Db, prefix: string, limit: number): CertificateRow[] {
  return db.prepare(`${SELECT} WHERE c.serial >= ? AND c.serial < ? ORDER BY c.serial LIMIT ?`).all(prefix, `${prefix}g`, limit) as CertificateRow[];
}

export function findByName(db: Db, name: string): CertificateRow[] {
  return db.prepare(`${SELECT} WHERE c.name = ? ORDER BY c.issued_at`).all(name) as CertificateRow[];
}

/** Every record name, once each, in index order (the names index covers it). */
export function* recordedNames(db: Db): Generator<string> {
  for (const row of db.prepare('SELECT DISTINCT name FROM certificates ORDER BY name').iterate() as Iterable<{ name: string }>) yield row.name;
}

export function certificateDer(db: Db, serial: string): Buffer | undefined {
  const row = db.prepare('SELECT der FROM certificate_ders WHERE serial = ?').get(serial) as { der: Buffer } | undefined;
  return row?.der;
}

export interface ListFilter {
  /** Which certificates: valid (default), revoked, expired or all. */
  status: Status | 'all';
  /** ISO time that decides "expired". */
  now: string;
  /** Only those whose notAfter is before this ISO time. */
  expiringBefore?: string;
  /** Leave out the CA's own profile-signing certificate; default false. */
  includeInternal?: boolean;
}

/** The FROM, WHERE and ORDER BY of a list, and their parameters. */
function listWhere(filter: ListFilter): { from: string; where: string; order: string; params: Record<string, string> } {
  const where: string[] = [];
  const params: Record<string, string> = { now: filter.now };
  if (filter.status === 'valid') where.push('r.serial IS NULL AND c.not_after > @now');
  if (filter.status === 'expired') where.push('r.serial IS NULL AND c.not_after <= @now');
  if (filter.expiringBefore) {
    where.push('c.not_after <= @expiringBefore');
    params.expiringBefore = filter.expiringBefore;
  }
  if (!filter.includeInternal) where.push("c.source <> 'internal'");
  return {
    from: filter.status === 'revoked' ? REVOKED_FROM : ALL_FROM,
    where: where.length ? ' WHERE ' + where.join(' AND ') : '',
    order: 'ORDER BY c.issued_at, c.serial',
    params,
  };
}

export function listCertificates(db: Db, filter: ListFilter): CertificateRow[] {
  const { from, where, order, params } = listWhere(filter);
  // Rows as arrays, made into objects here: better-sqlite3's own row objects
  // cost three times as much (10,000 revoked: ~100 ms against ~30; issue 6).
  const rows = db.prepare(`SELECT ${COLUMNS} FROM ${from}${where} ${order}`).raw(true).all(params) as (string | null)[][];
  return rows.map(
    ([serial, name, profile, source, subject, notBefore, notAfter, fingerprintSha256, issuedAt, revokedAt, reason]): CertificateRow => ({
      serial: serial!,
      name: name!,
      profile: profile as Profile,
      source: source as Source,
      subject: subject!,
      notBefore: notBefore!,
      notAfter: notAfter!,
      fingerprintSha256: fingerprintSha256!,
      issuedAt: issuedAt!,
      revokedAt: revokedAt ?? null,
      reason: reason ?? null,
    }),
  );
}

/** statusOf in SQL, for listCertificatesJson. */
const STATUS_SQL = `CASE WHEN r.revoked_at IS NOT NULL AND r.revoked_at <> '' THEN '"revoked"' WHEN c.not_after <= @now THEN '"expired"' ELSE '"valid"' END`;
/** The fields `list --json` shows (SPEC `list`), in order, with the SQL of each JSON value. */
const LISTED_JSON: [key: string, value: string][] = [
  ['serial', 'json_quote(c.serial)'],
  ['name', 'json_quote(c.name)'],
  ['subject', 'json_quote(c.subject)'],
  ['profile', 'json_quote(c.profile)'],
  ['notBefore', 'json_quote(c.not_before)'],
  ['notAfter', 'json_quote(c.not_after)'],
  ['status', STATUS_SQL],
  ['revokedAt', 'json_quote(r.revoked_at)'],
  ['reason', 'json_quote(r.reason)'],
  ['source', 'json_quote(c.source)'],
];

/**
 * What listCertificates selects, each certificate as the JSON text of
 * {serial,name,subject,profile,notBefore,notAfter,status,revokedAt,reason,source}
 * laid out as JSON.stringify(rows, null, 2) lays out an element (json_quote
 * escapes as it does), one at a time. SQLite writes the text: 100,000 rows as
 * JavaScript objects, or as one 30 MB document, cost seconds (issue 6).
 */
export function* listCertificatesJson(db: Db, filter: ListFilter): Generator<string> {
  const { from, where, order, params } = listWhere(filter);
  const format = `  {\n${LISTED_JSON.map(([key]) => `    "${key}": %s`).join(',\n')}\n  }`;
  const sql = `SELECT printf(@format, ${LISTED_JSON.map(([, value]) => value).join(', ')})
    FROM ${from}${where} ${order}`;
  yield* db.prepare(sql).pluck().iterate({ ...params, format }) as IterableIterator<string>;
}

/** The STATUS column of `list`'s table: valid, expired, or "revoked (REASON)". */
const STATUS_TEXT_SQL = `CASE WHEN r.revoked_at IS NOT NULL AND r.revoked_at <> '' THEN 'revoked (' || r.reason || ')' WHEN c.not_after <= @now THEN 'expired' ELSE 'valid' END`;
/** The PROFILE column of `list`'s table: the profile, and "(scep)" after a SCEP-enrolled one (profileText in src/app/inspect.ts). */
const PROFILE_TEXT_SQL = `c.profile || CASE WHEN c.source = 'scep' THEN ' (scep)' ELSE '' END`;
/** The columns of `list`'s table, in order: SERIAL, NAME, PROFILE, STATUS, EXPIRES, SUBJECT. */
const TABLE_SQL = ['c.serial', 'c.name', PROFILE_TEXT_SQL, STATUS_TEXT_SQL, 'substr(c.not_after, 1, 10)', 'c.subject'];

export interface TableShape {
  rows: number;
  /** The widest cell of each column but the last (the subject is not padded). */
  widths: number[];
  /** Every cell is printable ASCII: SQLite's printf pads it as JavaScript would, and nothing needs escaping. */
  printableAscii: boolean;
}

/** What listTableLines needs to know first: how many rows, how wide each column. */
export function listTableShape(db: Db, filter: ListFilter): TableShape {
  const { from, where, params } = listWhere(filter);
  const sql = `SELECT count(*), ${TABLE_SQL.slice(0, -1)
    .map((column) => `max(length(${column}))`)
    .join(', ')}, max((${TABLE_SQL.join(' || ')}) GLOB '*[^ -~]*')
    FROM ${from}${where}`;
  const [rows, ...rest] = db.prepare(sql).raw(true).get(params) as (number | null)[];
  const anyOther = rest.pop();
  return { rows: rows ?? 0, widths: rest.map((w) => w ?? 0), printableAscii: !anyOther };
}

/**
 * The rows of `list`'s table, each laid out by SQLite's printf with the
 * given column widths: one string per certificate instead of eleven and an
 * object (100,000 rows: seconds of garbage collection; issue 6). Only for
 * printable ASCII (listTableShape), where byte widths are character widths.
 */
export function* listTableLines(db: Db, filter: ListFilter, widths: readonly number[]): Generator<string> {
  const { from, where, order, params } = listWhere(filter);
  const padded = TABLE_SQL.slice(0, -1);
  const format = [...padded.map(() => '%-*s'), '%s'].join('  ');
  const args = [...padded.map((column, i) => `@w${i}, ${column}`), TABLE_SQL[TABLE_SQL.length - 1]].join(', ');
  const sql = `SELECT printf(@format, ${args}) FROM ${from}${where} ${order}`;
  const bound: Record<string, string | number> = { ...params, format };
  padded.forEach((_, i) => (bound[`w${i}`] = widths[i] ?? 0));
  yield* db.prepare(sql).pluck().iterate(bound) as IterableIterator<string>;
}

export function statusOf(row: CertificateRow, now: string): Status {
  if (row.revokedAt) return 'revoked';
  return row.notAfter <= now ? 'expired' : 'valid';
}

/** The DER of every valid (unrevoked, unexpired at `now`) intermediate CA, oldest first, for the bundle. */
export function validIntermediates(db: Db, now: string): { serial: string; name: string; der: Buffer }[] {
  return db
    .prepare(
      `SELECT c.serial, c.name, d.der FROM certificates c JOIN certificate_ders d ON d.serial = c.serial
       LEFT JOIN revocations r ON r.serial = c.serial
       WHERE c.profile = 'intermediate' AND r.serial IS NULL AND c.not_after > ? ORDER BY c.issued_at, c.serial`,
    )
    .all(now) as { serial: string; name: string; der: Buffer }[];
}

/** The intermediates no longer valid (revoked, or expired at `now`), with their DER: a CRL one of them signed is recognised, and left out. */
export function retiredIntermediates(db: Db, now: string): { serial: string; name: string; der: Buffer; revokedAt: string | null; notAfter: string }[] {
  return db
    .prepare(
      `SELECT c.serial, c.name, d.der, r.revoked_at AS revokedAt, c.not_after AS notAfter FROM certificates c JOIN certificate_ders d ON d.serial = c.serial
       LEFT JOIN revocations r ON r.serial = c.serial
       WHERE c.profile = 'intermediate' AND (r.serial IS NOT NULL OR c.not_after <= ?) ORDER BY c.issued_at, c.serial`,
    )
    .all(now) as { serial: string; name: string; der: Buffer; revokedAt: string | null; notAfter: string }[];
}
