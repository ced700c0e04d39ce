/**
 * `list --json` and `list`'s table are written by SQLite, row by row (issue
 * 6). They must print the bytes JSON.stringify(rows, null, 2) and
 * the table layout (fitTable, into a pipe) print, for every filter and for text that needs escaping. A
 * fresh database with the real migrations, fixed times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppContext } from '../../src/host/context';
import type { CaHome } from '../../src/host/home';
import { listCells, listCerts, listCertsJson, listCertsTable, type ListParams } from '../../src/app/inspect';
import { fitTable } from '../../src/cli/layout';
import { Output, printable, tableLine } from '../../src/cli/output';
import { insertCertificate, type CertificateRecord } from '../../src/store/certificates';
import { openDatabase } from '../../src/store/database';
import { insertRevocation } from '../../src/store/revocations';

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** What `print` writes to stdout. */
function captured(print: () => void): string {
  const chunks: Buffer[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: Uint8Array) => chunks.push(Buffer.from(chunk)) > 0) as typeof process.stdout.write;
  try {
    print();
  } finally {
    process.stdout.write = write;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What Output.jsonArray writes to stdout. */
const printed = (elements: Iterable<string>): string => captured(() => new Output({ json: true, quiet: false, color: false }).jsonArray(elements));

const FILTERS: ListParams[] = [
  { status: 'all' },
  { status: 'valid' },
  { status: 'revoked' },
  { status: 'expired' },
  { status: 'valid', expiringDays: 30 },
  { status: 'all', expiringDays: 400 },
  { status: 'valid', expiringDays: 0 },
];

function withDb(t: import('node:test').TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'pocketca.db'), { create: true });
  t.after(() => db.close());
  return db;
}

test('list --json: the same bytes as JSON.stringify, for every filter and for text that needs escaping', (t) => {
  const db = withDb(t);
  const subjects = [
    'CN=plain',
    'CN=quote " backslash \\ slash /',
    'CN=\u0001\u001b[31m\u001f\u007f\u0080',
    'CN=tab\there, newline\nthere',
    'CN=日本, CN=😀, CN=\u2028\u2029',
    'O=Home, CN=a\u0000b',
  ];
  subjects.forEach((subject, i) => {
    const record: CertificateRecord = {
      serial: (0x40 + i).toString(16) + '00'.repeat(15),
      name: `device-${i}`,
      profile: i === 5 ? 'server' : 'client',
      source: i === 4 ? 'internal' : i === 3 ? 'scep' : 'issue',
      subject,
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: i === 3 ? '2026-02-01T00:00:00.000Z' : `2026-0${3 + i}-15T00:00:00.000Z`,
      fingerprintSha256: `FP${i}`,
      issuedAt: `2026-01-0${1 + i}T00:00:00.000Z`,
    };
    insertCertificate(db, record, Buffer.from([0x30, 0x00]));
    if (i === 1) insertRevocation(db, { serial: record.serial, revokedAt: '2026-02-02T00:00:00.000Z', reason: 'keyCompromise' });
    if (i === 2) insertRevocation(db, { serial: record.serial, revokedAt: '2026-02-03T00:00:00.000Z', reason: 'unspecified' });
  });
  // A revoked serial with no certificate record (restore --deployed-crl, issue 16): listed with --revoked and --all, after the rest.
  insertRevocation(db, { serial: '7a' + '11'.repeat(15), revokedAt: '2026-02-04T00:00:00.000Z', reason: 'privilegeWithdrawn' });
  const ctx = { home: { database: () => db } as unknown as CaHome, now: () => NOW } as AppContext;
  const unrecorded = (filter: ListParams) => listCerts(ctx, filter).filter((c) => c.name === null);
  assert.deepEqual(unrecorded({ status: 'revoked' }), [
    { serial: '7a' + '11'.repeat(15), name: null, subject: null, profile: null, notBefore: null, notAfter: null, status: 'revoked', revokedAt: '2026-02-04T00:00:00.000Z', reason: 'privilegeWithdrawn', source: null },
  ]);
  assert.equal(listCerts(ctx, { status: 'all' }).at(-1)!.name, null, 'after the certificates');
  for (const filter of [{ status: 'valid' }, { status: 'expired' }, { status: 'all', expiringDays: 400 }] as ListParams[]) assert.deepEqual(unrecorded(filter), [], JSON.stringify(filter));
  for (const filter of FILTERS) {
    const expected = JSON.stringify(listCerts(ctx, filter), null, 2) + '\n';
    assert.equal(printed(listCertsJson(ctx, filter)), expected, JSON.stringify(filter));
  }
  assert.equal(printed([]), '[]\n');
  const all = JSON.parse(printed(listCertsJson(ctx, { status: 'all' })));
  assert.equal(all.length, 6, 'the internal certificate is left out; the unrecorded revocation is in');
  assert.deepEqual(all.map((c: { source: string | null }) => c.source), ['issue', 'issue', 'issue', 'scep', 'issue', null], 'source, the last field');
  assert.equal(Object.keys(all[0]).at(-1), 'source');
  assert.equal(Object.keys(all[5]).at(-1), 'source');
});

test('list table: SQLite lays out the bytes fitTable does into a pipe; text that is not printable ASCII is left to fitTable', (t) => {
  const db = withDb(t);
  const ctx = { home: { database: () => db } as unknown as CaHome, now: () => NOW } as AppContext;
  const header = ['SERIAL', 'NAME', 'PROFILE', 'STATUS', 'EXPIRES', 'SUBJECT'];
  /** What `list` prints into a pipe for text SQLite does not lay out: listCerts through fitTable. */
  const expected = (filter: ListParams): string => {
    const rows = listCerts(ctx, filter);
    if (rows.length === 0) return 'no certificates\n';
    return fitTable({ header, rows: rows.map((r) => listCells(r).map(printable)) }, undefined).join('\n') + '\n';
  };
  const bySql = (filter: ListParams): string | undefined => {
    const table = listCertsTable(ctx, filter, header);
    if (!table) return undefined;
    const out = new Output({ json: false, quiet: false, color: false });
    return captured(() => out.lines(table.rows === 0 ? ['no certificates'] : [tableLine(header, table.widths), ...table.lines]));
  };
  assert.equal(bySql({ status: 'all' }), 'no certificates\n');
  // Widths that vary per column and per filter: long and short names, serials with a leading zero byte, every status.
  const names = ['a', 'a-much-longer-device-name', 'mid-name', 'x', 'nas.home-arpa_1'];
  names.forEach((name, i) => {
    insertCertificate(
      db,
      {
        serial: i === 3 ? '00ff' + 'ab'.repeat(8) : (0x10 + i).toString(16) + 'cd'.repeat(7 + i),
        name,
        profile: i === 2 ? 'server' : 'client',
        source: i === 0 ? 'scep' : 'issue',
        subject: i === 4 ? 'O=Home, CN=nas' : `CN=${name}`,
        notBefore: '2026-01-01T00:00:00.000Z',
        notAfter: i === 1 ? '2026-02-01T00:00:00.000Z' : `2026-0${3 + i}-15T00:00:00.000Z`,
        fingerprintSha256: `FP${i}`,
        issuedAt: `2026-01-0${1 + i}T00:00:00.000Z`,
      },
      Buffer.from([0x30, 0x00]),
    );
  });
  const serials = (listCerts(ctx, { status: 'all' }) as { serial: string; name: string }[]).map((r) => r);
  insertRevocation(db, { serial: serials.find((r) => r.name === 'mid-name')!.serial, revokedAt: '2026-02-02T00:00:00.000Z', reason: 'cessationOfOperation' });
  insertRevocation(db, { serial: serials.find((r) => r.name === 'x')!.serial, revokedAt: '2026-02-03T00:00:00.000Z', reason: 'unspecified' });
  insertRevocation(db, { serial: '7a' + '11'.repeat(19), revokedAt: '2026-02-04T00:00:00.000Z', reason: 'privilegeWithdrawn' });
  for (const filter of FILTERS) assert.equal(bySql(filter), expected(filter), JSON.stringify(filter));
  assert.match(bySql({ status: 'revoked' })!, /^7a(11){19} {2}- +- +revoked \(privilegeWithdrawn\) +- +\(no record here; revoked on a CRL\)$/m);

  // A control character (a hostile CSR's CN) or any non-ASCII text: printable escapes it, fitTable measures it.
  for (const subject of ['CN=\u001b[2Jgone', 'CN=Zoë']) {
    insertCertificate(
      db,
      {
        serial: subject.length.toString(16).padStart(2, '0') + 'ee'.repeat(9),
        name: `odd-${subject.length}`,
        profile: 'client',
        source: 'issue',
        subject,
        notBefore: '2026-01-01T00:00:00.000Z',
        notAfter: '2027-01-01T00:00:00.000Z',
        fingerprintSha256: 'FPX',
        issuedAt: '2026-01-20T00:00:00.000Z',
      },
      Buffer.from([0x30, 0x00]),
    );
    assert.equal(bySql({ status: 'valid' }), undefined, subject);
    assert.equal(bySql({ status: 'revoked' }), expected({ status: 'revoked' }), 'other filters keep the SQLite layout');
    db.prepare("DELETE FROM certificate_ders WHERE serial IN (SELECT serial FROM certificates WHERE fingerprint_sha256 = 'FPX')").run();
    db.prepare("DELETE FROM certificates WHERE fingerprint_sha256 = 'FPX'").run();
  }
});

test('fitTable: columns of 150,000 rows (no spread of them into Math.max)', () => {
  const rows = Array.from({ length: 150_000 }, (_, i) => [String(i), i === 149_999 ? 'the-longest-name' : 'n', 'CN=x']);
  const lines = fitTable({ header: ['ID', 'NAME', 'SUBJECT'], rows }, undefined);
  assert.equal(lines[1], '0       n                 CN=x');
});
