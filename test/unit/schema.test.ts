/**
 * The schema check every command makes as it opens a home (src/store/schema.ts)
 * and migration 006 (a revocation is permanent), on databases the real
 * migrations made.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { loadMigrations, migrate } from '../../src/store/database';
import { LATEST_SCHEMA } from '../../src/store/latest-schema';
import { latestSchema, schemaDifferences } from '../../src/store/schema';
import { insertRevocation } from '../../src/store/revocations';

function databaseAt(version: number): Database.Database {
  const db = new Database(':memory:');
  migrate(db, loadMigrations().slice(0, version));
  return db;
}

test('LATEST_SCHEMA is what the migrations make (after a new migration: npm run latest-schema)', () => {
  assert.deepEqual(LATEST_SCHEMA, latestSchema(), 'src/store/latest-schema.ts is out of date: run npm run latest-schema and commit it');
});

test('schemaDifferences: none at every version the migrations made, the latest compared without applying them', () => {
  const migrations = loadMigrations();
  for (let version = 1; version <= migrations.length; version++) {
    const db = databaseAt(version);
    try {
      assert.deepEqual(schemaDifferences(db), [], `version ${version}`);
    } finally {
      db.close();
    }
  }
});

test('schemaDifferences at an older version: each object compared with what that version had', () => {
  const db = databaseAt(4);
  try {
    db.exec("CREATE TRIGGER no_deletes BEFORE DELETE ON revocations BEGIN SELECT RAISE(ABORT, 'no'); END;");
    db.exec('CREATE INDEX crls_sha256 ON crls (sha256);');
    assert.deepEqual(schemaDifferences(db).sort(), ['an extra index "crls_sha256"', 'an extra trigger "no_deletes"']);
  } finally {
    db.close();
  }
});

test('schemaDifferences at the latest version: a changed collation, a CHECK dropped, a missing index, a temporary trigger left alone', () => {
  const db = databaseAt(loadMigrations().length);
  try {
    db.exec('DROP INDEX events_at; CREATE INDEX events_at ON events (at COLLATE NOCASE);');
    db.exec('DROP INDEX revocations_revoked_at;');
    // crls rebuilt without its CHECK (number > 0): a CRL number 0 or below could then be recorded.
    const crls = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'crls'").pluck().get() as string;
    db.exec(`ALTER TABLE crls RENAME TO crls_old; ${crls.replace('CHECK (number > 0)', '')}; INSERT INTO crls SELECT * FROM crls_old; DROP TABLE crls_old;`);
    // A TEMP trigger lives in this connection only: nothing another process opens.
    db.exec('CREATE TEMP TRIGGER mine AFTER INSERT ON main.events BEGIN SELECT 1; END;');
    assert.deepEqual(schemaDifferences(db).sort(), ['a changed index "events_at"', 'a changed table "crls"', 'no index "revocations_revoked_at"']);
  } finally {
    db.close();
  }
});

test('migration 006: a revocation cannot be deleted or moved to another serial; replacing it keeps the serial revoked', () => {
  const db = databaseAt(loadMigrations().length);
  try {
    insertRevocation(db, { serial: 'aa01', revokedAt: '2026-02-01T00:00:00.000Z', reason: 'keyCompromise' });
    assert.throws(() => db.prepare("DELETE FROM revocations WHERE serial = 'aa01'").run(), /a revocation is permanent/);
    assert.throws(() => db.prepare('DELETE FROM revocations').run(), /a revocation is permanent/);
    assert.throws(() => db.prepare("UPDATE revocations SET serial = 'bb02' WHERE serial = 'aa01'").run(), /a revocation is permanent/);
    assert.throws(() => insertRevocation(db, { serial: 'aa01', revokedAt: '2026-03-01T00:00:00.000Z', reason: 'superseded' }), /UNIQUE constraint failed/);
    db.prepare("INSERT OR REPLACE INTO revocations (serial, revoked_at, reason) VALUES ('aa01', '2026-03-01T00:00:00.000Z', 'superseded')").run();
    assert.deepEqual(db.prepare('SELECT serial FROM revocations').pluck().all(), ['aa01']);
  } finally {
    db.close();
  }
});
