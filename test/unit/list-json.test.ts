/**
 * `list --json` is written by SQLite, row by row (issue 6). It must print the
 * bytes JSON.stringify(rows, null, 2) printed before, for every filter and
 * for text that needs escaping. A fresh database with the real migrations,
 * fixed times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppContext } from '../../src/app/context';
import type { CaHome } from '../../src/app/home';
import { listCerts, listCertsJson, type ListParams } from '../../src/app/inspect';
import { Output } from '../../src/cli/output';
import { insertCertificate, type CertificateRecord } from '../../src/store/certificates';
import { openDatabase } from '../../src/store/database';
import { insertRevocation } from '../../src/store/revocations';

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** What Output.jsonArray writes to stdout. */
function printed(elements: Iterable<string>): string {
  const chunks: Buffer[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: Uint8Array) => chunks.push(Buffer.from(chunk)) > 0) as typeof process.stdout.write;
  try {
    new Output({ json: true, quiet: false, color: false }).jsonArray(elements);
  } finally {
    process.stdout.write = write;
  }
  return Buffer.concat(chunks).toString('utf8');
}

test('list --json: the same bytes as JSON.stringify, for every filter and for text that needs escaping', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'pocketca.db'), { create: true });
  t.after(() => db.close());
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
      source: i === 4 ? 'internal' : 'issue',
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
  const ctx = { home: { database: () => db } as unknown as CaHome, now: () => NOW } as AppContext;
  const filters: ListParams[] = [
    { status: 'all' },
    { status: 'valid' },
    { status: 'revoked' },
    { status: 'expired' },
    { status: 'valid', expiringDays: 30 },
    { status: 'all', expiringDays: 400 },
    { status: 'valid', expiringDays: 0 },
  ];
  for (const filter of filters) {
    const expected = JSON.stringify(listCerts(ctx, filter), null, 2) + '\n';
    assert.equal(printed(listCertsJson(ctx, filter)), expected, JSON.stringify(filter));
  }
  assert.equal(printed([]), '[]\n');
  assert.equal(JSON.parse(printed(listCertsJson(ctx, { status: 'all' }))).length, 5, 'the internal certificate is left out');
});
