/**
 * Migration 004 rebuilds `certificates` so its profile CHECK admits
 * 'intermediate'; migration 005 rebuilds it again for source 'scep', and
 * `revocations` so that a revocation needs no certificate row (a serial from
 * a deployed CRL that the restored backup never knew). A home made before it keeps every row and every
 * reference, and ends with the schema a fresh home has (restore compares
 * schemas).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBySerial, insertCertificate, type CertificateRecord } from '../../src/store/certificates';
import { loadMigrations, migrate, openDatabase } from '../../src/store/database';
import { insertRevocation } from '../../src/store/revocations';

const record = (serial: string, profile: CertificateRecord['profile']): CertificateRecord => ({
  serial,
  name: `n-${serial}`,
  profile,
  source: 'sign',
  subject: `CN=${serial}`,
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2027-01-01T00:00:00.000Z',
  fingerprintSha256: serial.toUpperCase(),
  issuedAt: '2026-01-01T00:00:00.000Z',
});

const schemaOf = (db: Database.Database): string[] =>
  (db.prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS s FROM sqlite_master ORDER BY type, name").pluck().all() as string[]);

test('migrations 004 and 005: an older database keeps its certificates and revocations, admits profile intermediate and source scep, and matches a fresh schema', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'old.db');
  const old = new Database(path);
  old.pragma('foreign_keys = ON');
  migrate(old, loadMigrations().filter((m) => m.version <= 3));
  insertCertificate(old, record('aa01', 'client'), Buffer.from('der-1'));
  insertCertificate(old, record('aa02', 'server'), Buffer.from('der-2'));
  insertRevocation(old, { serial: 'aa02', revokedAt: '2026-02-01T00:00:00.000Z', reason: 'keyCompromise' });
  assert.throws(() => insertCertificate(old, record('aa03', 'intermediate'), Buffer.from('der-3')), /CHECK constraint failed/);
  old.close();

  const db = openDatabase(path);
  t.after(() => db.close());
  assert.equal(db.pragma('user_version', { simple: true }), loadMigrations().length);
  assert.equal(findBySerial(db, 'aa01')?.profile, 'client');
  assert.equal(findBySerial(db, 'aa02')?.reason, 'keyCompromise');
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  insertCertificate(db, record('aa03', 'intermediate'), Buffer.from('der-3'));
  assert.equal(findBySerial(db, 'aa03')?.profile, 'intermediate');
  insertCertificate(db, { ...record('aa04', 'client'), source: 'scep' }, Buffer.from('der-4'));
  assert.equal(findBySerial(db, 'aa04')?.source, 'scep');
  // A certificate's DER still needs its certificate; a revocation no longer does (005).
  assert.throws(() => db.prepare('INSERT INTO certificate_ders (serial, der) VALUES (?, ?)').run('ffff', Buffer.from('x')), /FOREIGN KEY/);
  insertRevocation(db, { serial: 'ffff', revokedAt: '2026-02-01T00:00:00.000Z', reason: 'keyCompromise' });
  assert.equal((db.prepare("SELECT reason FROM revocations WHERE serial = 'ffff'").pluck().get() as string), 'keyCompromise');

  const fresh = openDatabase(join(dir, 'fresh.db'), { create: true });
  t.after(() => fresh.close());
  assert.deepEqual(schemaOf(db), schemaOf(fresh));
});
