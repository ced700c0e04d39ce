/**
 * What `restore` trusts of a database from a backup (issue 9): opened with
 * trusted_schema off and not migrated, its schema compared with what the
 * real migrations create on a fresh in-memory database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseTooNewError } from '../../src/errors';
import { loadMigrations, openDatabase } from '../../src/store/database';
import { schemaDifferences } from '../../src/store/snapshot';
import { tempDir } from '../helpers/cli';

function freshDatabase(t: { after: (fn: () => void) => void }): string {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'pocketca.db');
  openDatabase(path, { create: true }).close();
  return path;
}

test('every database is opened with SQLite\'s trusted_schema off (issue 16); migrate: false leaves the schema unmigrated', (t) => {
  const path = freshDatabase(t);
  const plain = openDatabase(path, { create: false });
  assert.equal(plain.pragma('trusted_schema', { simple: true }), 0, 'off without being asked');
  assert.equal(plain.pragma('cell_size_check', { simple: true }), 1);
  plain.pragma('user_version = 1');
  plain.close();
  const untrusted = openDatabase(path, { create: false, trustedSchema: false, migrate: false });
  try {
    assert.equal(untrusted.pragma('trusted_schema', { simple: true }), 0);
    assert.equal(untrusted.pragma('user_version', { simple: true }), 1, 'not migrated');
  } finally {
    untrusted.close();
  }
});

test('schemaDifferences: none for what the migrations made; each planted or missing object named', (t) => {
  const path = freshDatabase(t);
  const db = openDatabase(path, { create: false, trustedSchema: false, migrate: false });
  try {
    assert.deepEqual(schemaDifferences(db), []);
    db.exec('CREATE TRIGGER "x\u001b[2J" AFTER INSERT ON revocations BEGIN DELETE FROM revocations; END;');
    db.exec('CREATE VIEW v AS SELECT 1;');
    db.exec('DROP INDEX events_at;');
    assert.deepEqual(schemaDifferences(db).sort(), ['an extra trigger "x\\u001b[2J"', 'an extra view "v"', 'no index "events_at"']);
    db.pragma(`user_version = ${loadMigrations().length + 1}`);
    assert.throws(() => schemaDifferences(db), DatabaseTooNewError);
    db.pragma('user_version = 0');
    assert.match(schemaDifferences(db)[0]!, /no pocketca schema version/);
  } finally {
    db.close();
  }
});
