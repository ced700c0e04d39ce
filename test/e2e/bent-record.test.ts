/**
 * SPEC "The record cannot be bent behind pocketca's back" (issue 16, item 1):
 * a home's database changed by someone else's SQL (the sqlite3 CLI, Python's
 * sqlite3 module) is found by every command as it opens the home: commands
 * that change the home refuse, naming what was planted, before anything
 * changes; `doctor` fails naming it; read-only commands warn and go on.
 * Behind that check, `revoke` proves its own result before it reports
 * success: the revocation is in the record and on the CRL read back from
 * crl.pem; when the database lies in a way no schema comparison sees, or
 * something changes while it runs, it is exit 1 and the log says so.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsPromises, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, type RunResult, type TestCa } from '../helpers/cli';
import { downgradeDatabase, readCrl, withDatabase } from '../helpers/guarantees';
import { requireTool } from '../helpers/tools';

/** The trigger of issue 16: every new revocation deleted as it is inserted. */
const KEEP_MINE = 'CREATE TRIGGER keep_mine AFTER INSERT ON revocations BEGIN DELETE FROM revocations WHERE rowid = NEW.rowid; END;';

const dbPath = (ca: TestCa): string => join(ca.home, 'pocketca.db');

/** Run SQL on the home's database with the sqlite3 CLI, as someone with the file would. */
function sqlite3(ca: TestCa, sql: string): string {
  const r = spawnSync('sqlite3', [dbPath(ca), sql], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `sqlite3 ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The same with /usr/bin/python3's sqlite3 module (Debian's libsqlite3, not the one pocketca bundles). */
function python3(ca: TestCa, sql: string): void {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.executescript(sys.argv[2])\nc.commit()\nc.close()', dbPath(ca), sql], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, `python3 sqlite3 ${sql}: ${r.stderr}`);
}

interface HomeState {
  crlPem: Buffer;
  crlNumber: number;
  revoked: string[];
  events: number;
  version: number;
}

/** What a refused command must leave as it was: crl.pem (byte for byte and as openssl reads it), the revocations, the log, the schema version. */
function homeState(ca: TestCa): HomeState {
  return {
    crlPem: readFileSync(join(ca.home, 'crl.pem')),
    crlNumber: readCrl(ca.home).number,
    ...withDatabase(ca.home, (db) => ({
      revoked: (db.prepare('SELECT serial FROM revocations ORDER BY serial').pluck().all() as string[]),
      events: db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number,
      version: db.pragma('user_version', { simple: true }) as number,
    })),
  };
}

function assertUnchanged(ca: TestCa, before: HomeState, label: string): void {
  const after = homeState(ca);
  assert.ok(after.crlPem.equals(before.crlPem), `${label}: crl.pem is the same file`);
  assert.equal(after.crlNumber, before.crlNumber, `${label}: openssl reads the same CRL number`);
  assert.deepEqual(after.revoked, before.revoked, `${label}: no revocation recorded`);
  assert.equal(after.events, before.events, `${label}: nothing logged`);
  assert.equal(after.version, before.version, `${label}: not migrated`);
}

/** Refused before anything changed, naming what differs. */
function assertRefused(r: RunResult, named: RegExp, label: string): void {
  assert.equal(r.code, 1, `${label}: exit 1, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /^error: the database \S+pocketca\.db is not as pocketca made it: .*; nothing was changed\nhint: .*sqlite3 \S+pocketca\.db \.schema.*pocketca restore/, label);
  assert.match(r.stderr.split('\n')[0]!, named, `${label}: names it`);
}

/** Warned, named, and went on. */
function assertWarned(r: RunResult, named: RegExp, label: string): void {
  assert.equal(r.code, 0, `${label}: exit 0, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /^warning: the database \S+pocketca\.db is not as pocketca made it: /m, label);
  assert.match(r.stderr, named, `${label}: names it`);
}

/** A CA with history: phone revoked (CRL 2), stolen-laptop valid. */
function caWithHistory(t: TestContext): { ca: TestCa; laptop: { serial: string }; phone: { serial: string } } {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const phone = JSON.parse(ca.ok(['issue', 'phone', '--json']).stdout);
  const laptop = JSON.parse(ca.ok(['issue', 'stolen-laptop', '--json']).stdout);
  ca.ok(['revoke', 'phone', '--reason', 'keyCompromise']);
  return { ca, laptop, phone };
}

test('the issue\'s trigger, planted with the sqlite3 CLI: revoke refuses naming it and nothing changes; doctor fails naming it; list, show and log warn and go on', (t) => {
  if (!requireTool(t, 'sqlite3') || !requireTool(t, 'openssl')) return;
  const { ca, laptop, phone } = caWithHistory(t);
  sqlite3(ca, KEEP_MINE);
  const before = homeState(ca);
  const trigger = /an extra trigger "keep_mine"/;

  assertRefused(ca.run(['revoke', 'stolen-laptop', '--reason', 'keyCompromise']), trigger, 'revoke');
  assertUnchanged(ca, before, 'revoke');
  assert.deepEqual(readCrl(ca.home).serials, [phone.serial], 'the CRL lists what it listed');
  for (const args of [['issue', 'new-phone'], ['crl'], ['renew', 'stolen-laptop'], ['backup', join(ca.dir, 'home.backup')]]) {
    assertRefused(ca.run(args), trigger, args[0]!);
    assertUnchanged(ca, before, args[0]!);
  }

  const doctor = ca.run(['doctor']);
  assert.equal(doctor.code, 1, doctor.stderr);
  assert.match(doctor.stdout, /^fail +database +.*an extra trigger "keep_mine"/m);
  const json = ca.run(['doctor', '--json']);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as { ok: boolean; checks: { name: string; status: string; schemaDifferences?: string[] }[] };
  assert.equal(report.ok, false);
  const database = report.checks.find((c) => c.name === 'database')!;
  assert.equal(database.status, 'fail');
  assert.deepEqual(database.schemaDifferences, ['an extra trigger "keep_mine"']);

  const list = ca.run(['list']);
  assertWarned(list, trigger, 'list');
  assert.match(list.stdout, new RegExp(`${laptop.serial} +stolen-laptop +client +valid`));
  const listJson = ca.run(['list', '--json']);
  assertWarned(listJson, trigger, 'list --json');
  assert.deepEqual(JSON.parse(listJson.stdout).map((c: { name: string }) => c.name), ['stolen-laptop'], 'stdout stays one JSON document');
  assertWarned(ca.run(['show', 'stolen-laptop']), trigger, 'show');
  assertWarned(ca.run(['log']), trigger, 'log');
  assertUnchanged(ca, before, 'the read-only commands');

  // Taken out again, the home works: the check is about what is there, not a mark left behind.
  sqlite3(ca, 'DROP TRIGGER keep_mine;');
  const revoked = ca.ok(['revoke', 'stolen-laptop', '--reason', 'keyCompromise']);
  assert.doesNotMatch(revoked.stderr, /warning|error/);
  assert.deepEqual(readCrl(ca.home).serials, [phone.serial, laptop.serial].sort());
});

test('the same trigger planted with /usr/bin/python3\'s sqlite3 module: revoke and renew refuse naming it', (t) => {
  if (!requireTool(t, 'python3') || !requireTool(t, 'openssl')) return;
  const { ca } = caWithHistory(t);
  python3(ca, KEEP_MINE);
  const before = homeState(ca);
  assertRefused(ca.run(['revoke', 'stolen-laptop']), /an extra trigger "keep_mine"/, 'revoke');
  assertRefused(ca.run(['renew', 'stolen-laptop']), /an extra trigger "keep_mine"/, 'renew');
  assertUnchanged(ca, before, 'python3-planted');
  assert.equal(ca.run(['doctor']).code, 1);
});

test('other bends are named too: a trigger on the log, a trigger on crls, a view in the revocations table\'s place, an index with another collation', (t) => {
  if (!requireTool(t, 'sqlite3') || !requireTool(t, 'openssl')) return;
  const cases: { label: string; sql: string; named: RegExp; refused: string[] }[] = [
    {
      label: 'a trigger that keeps revocations out of the log',
      sql: "CREATE TRIGGER quiet BEFORE INSERT ON events WHEN NEW.command = 'revoke' BEGIN SELECT RAISE(IGNORE); END;",
      named: /an extra trigger "quiet"/,
      refused: ['revoke', 'stolen-laptop'],
    },
    {
      label: 'a trigger that renumbers each new CRL',
      sql: 'CREATE TRIGGER renumber AFTER INSERT ON crls BEGIN UPDATE crls SET number = 1 WHERE number = NEW.number; END;',
      named: /an extra trigger "renumber"/,
      refused: ['crl'],
    },
    {
      // Without the check, revoke inserts into the view, the INSTEAD OF trigger drops it, and exit 0.
      label: 'a view in the revocations table\'s place',
      sql:
        'DROP TRIGGER IF EXISTS revocations_permanent_delete; DROP TRIGGER IF EXISTS revocations_permanent_serial; ' +
        'ALTER TABLE revocations RENAME TO revocations_kept; CREATE VIEW revocations AS SELECT * FROM revocations_kept WHERE 0; ' +
        'CREATE TRIGGER swallow INSTEAD OF INSERT ON revocations BEGIN SELECT 1; END;',
      named: /an extra view "revocations"/,
      refused: ['revoke', 'stolen-laptop'],
    },
    {
      label: 'an index rebuilt with another collation',
      sql: 'DROP INDEX certificates_name; CREATE INDEX certificates_name ON certificates (name COLLATE NOCASE);',
      named: /a changed index "certificates_name"/,
      refused: ['issue', 'STOLEN-LAPTOP'],
    },
  ];
  for (const c of cases) {
    const { ca } = caWithHistory(t);
    sqlite3(ca, c.sql);
    const before = homeState(ca);
    assertRefused(ca.run(c.refused), c.named, c.label);
    assertUnchanged(ca, before, c.label);
    const doctor = ca.run(['doctor']);
    assert.equal(doctor.code, 1, `${c.label}: doctor fails`);
    assert.match(doctor.stdout, c.named, `${c.label}: doctor names it`);
    assertWarned(ca.run(['list', '--all']), c.named, `${c.label}: list`);
  }
});

test('an older home is checked as that older version before it is migrated: with a trigger planted it is refused (or warned about) and left at its version', (t) => {
  if (!requireTool(t, 'sqlite3') || !requireTool(t, 'openssl')) return;
  const { ca } = caWithHistory(t);
  downgradeDatabase(ca.home, 4);
  sqlite3(ca, KEEP_MINE);
  const before = homeState(ca);
  assert.equal(before.version, 4);
  assertRefused(ca.run(['revoke', 'stolen-laptop']), /an extra trigger "keep_mine"/, 'revoke of an older home');
  const list = ca.run(['list']);
  assertWarned(list, /an extra trigger "keep_mine"/, 'list of an older home');
  assert.match(list.stdout, /stolen-laptop/);
  assertUnchanged(ca, before, 'an older home with a planted trigger');

  sqlite3(ca, 'DROP TRIGGER keep_mine;');
  const clean = ca.run(['list']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(clean.stderr, '', 'an older home as pocketca made it migrates without a word');
  assert.ok(homeState(ca).version > 4, 'then migrated');
  ca.ok(['revoke', 'stolen-laptop']);
});

/** The failed events the log shows for `serial`, read with `pocketca log --json`. */
function failedEvents(ca: TestCa, serial: string): { detail: string }[] {
  const log = ca.run(['log', '--json']);
  assert.equal(log.code, 0, log.stderr);
  return (JSON.parse(log.stdout) as { outcome: string; serial: string | null; detail: string }[]).filter((e) => e.outcome === 'failed' && e.serial === serial);
}

test('a trigger planted while revoke waits for its passphrase (after its check): the revocation does not take effect, exit 1, and the log says so', async (t) => {
  if (!requireTool(t, 'sqlite3') || !requireTool(t, 'mkfifo') || !requireTool(t, 'openssl')) return;
  const { ca, laptop, phone } = caWithHistory(t);

  /** revoke stolen-laptop reading its passphrase from a FIFO; `plant` runs once it opened the FIFO, long after it opened the home. */
  const revokeWhile = async (plant: string): Promise<RunResult> => {
    const fifo = join(ca.dir, `passphrase-${Date.now()}.fifo`);
    assert.equal(spawnSync('mkfifo', ['-m', '600', fifo]).status, 0);
    const run = ca.runAsync(['revoke', 'stolen-laptop', '--reason', 'keyCompromise', '--passphrase-file', fifo]);
    // Opening for writing returns once revoke opens it for reading.
    const writer = await Promise.race([fsPromises.open(fifo, 'w'), run.then((r) => assert.fail(`revoke ended before it read the passphrase: ${r.stderr}`))]);
    sqlite3(ca, plant);
    await writer.writeFile(readFileSync(ca.passFile));
    await writer.close();
    return run;
  };

  const before = homeState(ca);
  // The trigger meets migration 006's: a revocation cannot be deleted, so the insert is stopped.
  const stopped = await revokeWhile(KEEP_MINE);
  assert.equal(stopped.code, 1, stopped.stderr);
  assert.match(stopped.stderr, new RegExp(`^error: the revocation of ${laptop.serial} \\(stolen-laptop\\) did not take effect: .*nothing was revoked\\nhint: run \`pocketca doctor\``));
  sqlite3(ca, 'DROP TRIGGER keep_mine;');

  // With 006's trigger taken out as well, the row vanishes as it is written: the read-back finds it gone.
  const swallowed = await revokeWhile(`DROP TRIGGER IF EXISTS revocations_permanent_delete; ${KEEP_MINE}`);
  assert.equal(swallowed.code, 1, swallowed.stderr);
  assert.match(swallowed.stderr, new RegExp(`^error: the revocation of ${laptop.serial} \\(stolen-laptop\\) did not take effect: serial ${laptop.serial} was gone from the database right after it was recorded; nothing was revoked`));

  const after = homeState(ca);
  assert.ok(after.crlPem.equals(before.crlPem), 'no CRL was published');
  assert.deepEqual(readCrl(ca.home).serials, [phone.serial]);
  assert.deepEqual(after.revoked, before.revoked);
  const failed = failedEvents(ca, laptop.serial);
  assert.equal(failed.length, 2, 'both failures are in the log');
  assert.match(failed[1]!.detail, /revocation did not take effect: .*gone from the database/);
});

test('a database that lies where no schema comparison looks (an index pointed at an empty b-tree): revoke and crl refuse to publish a CRL that drops a revocation', (t) => {
  if (!requireTool(t, 'sqlite3') || !requireTool(t, 'openssl')) return;
  const { ca, laptop, phone } = caWithHistory(t);
  // revocations_revoked_at, which the CRL is read through, now starts empty: every earlier revocation
  // disappears from the scan, while sqlite_master's SQL is the same text as before.
  sqlite3(ca, 'CREATE INDEX decoy ON revocations (revoked_at) WHERE 0;');
  const root = sqlite3(ca, "SELECT rootpage FROM sqlite_master WHERE name = 'decoy';");
  sqlite3(ca, `PRAGMA writable_schema = ON; UPDATE sqlite_master SET rootpage = ${root} WHERE name = 'revocations_revoked_at'; DELETE FROM sqlite_master WHERE name = 'decoy'; PRAGMA writable_schema = OFF;`);
  const before = homeState(ca);

  const r = ca.run(['revoke', 'stolen-laptop', '--reason', 'keyCompromise']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: the revocation of [0-9a-f]+ \(stolen-laptop\) did not take effect: CRL number 3 would list 1 certificate where 2 are revoked .*nothing was revoked/);
  const crl = ca.run(['crl']);
  assert.equal(crl.code, 1, crl.stderr);
  assert.match(crl.stderr, /^error: CRL number 3 would list 0 certificates where 1 is revoked \(CRL number 2 listed 1\)/);

  const after = homeState(ca);
  assert.ok(after.crlPem.equals(before.crlPem), 'no CRL was published');
  assert.deepEqual(readCrl(ca.home).serials, [phone.serial], 'the revoked phone is still on the CRL');
  assert.equal(failedEvents(ca, laptop.serial).length, 1, 'the log says what happened');
  const doctor = ca.run(['doctor']);
  assert.equal(doctor.code, 1);
  assert.match(doctor.stdout, /^fail +database +integrity check failed/m);
});

test('crl.pem read back: replaced while revoke holds the write lock (POCKETCA_TEST_PAUSE_AT after its rename), the revocation does not take effect', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const { ca, laptop, phone } = caWithHistory(t);
  const crlPath = join(ca.home, 'crl.pem');
  const before = homeState(ca);
  const run = ca.runAsync(['revoke', 'stolen-laptop'], { env: { POCKETCA_TEST_PAUSE_AT: 'crl:written@8000' } });
  // Once the new CRL is in place (the pause follows its rename), the earlier one is put back over it.
  const deadline = Date.now() + 60_000;
  while (readFileSync(crlPath).equals(before.crlPem)) {
    assert.ok(Date.now() < deadline, 'revoke renamed its CRL into place');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  writeFileSync(`${crlPath}.test`, before.crlPem);
  renameSync(`${crlPath}.test`, crlPath);
  const r = await run;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^error: the revocation of ${laptop.serial} \\(stolen-laptop\\) did not take effect: \\S+crl\\.pem is not CRL number 3, the one just signed; nothing was revoked`));
  const after = homeState(ca);
  assert.deepEqual(after.revoked, before.revoked, 'rolled back');
  assert.deepEqual(readCrl(ca.home).serials, [phone.serial]);
  assert.equal(failedEvents(ca, laptop.serial).length, 1);
  // Nothing is left half-done: the next revoke works and its CRL (number 3 or later) lists both.
  ca.ok(['revoke', 'stolen-laptop']);
  assert.deepEqual(readCrl(ca.home).serials, [phone.serial, laptop.serial].sort());
});
