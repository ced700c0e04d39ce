/**
 * Issue 13, SPEC "Many devices at once": `issue --batch FILE`. Every
 * identity is checked from outside: the database read directly, each
 * PKCS#12 opened by openssl with the password passwords.csv gives for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, secretFile, type TestCa } from '../helpers/cli';
import { clientIdentityState, fingerprintOfPem, p12LeafPem, readPasswordsCsv, withDatabase } from '../helpers/guarantees';
import { runInPty, screenText } from '../helpers/pty';
import { requireTool } from '../helpers/tools';

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(2, '0')}`);

/** A batch file with the names, a comment, blank and indented lines. */
function batchFile(ca: TestCa, file: string, list: readonly string[]): string {
  const path = join(ca.dir, file);
  writeFileSync(path, ['# devices for the lab', '', ...list.map((n, i) => (i % 3 === 1 ? `  ${n}  ` : n)), '', '   # the end', ''].join('\n'));
  return path;
}

const recordedNames = (ca: TestCa): string[] => withDatabase(ca.home, (db) => db.prepare('SELECT name FROM certificates ORDER BY name').pluck().all() as string[]);

const readPasswords = readPasswordsCsv;

/** The .p12 of `name` opens with `password` under openssl and holds the certificate recorded for it. */
function assertOpens(ca: TestCa, dir: string, name: string, password: string): void {
  const file = secretFile(ca.dir, `pw-${name}`, password);
  const print = fingerprintOfPem(p12LeafPem(join(dir, `${name}.p12`), file));
  const recorded = withDatabase(ca.home, (db) => db.prepare('SELECT fingerprint_sha256 FROM certificates WHERE name = ?').pluck().all(name) as string[]);
  assert.deepEqual(recorded, [print], `${name}: the .p12 holds its one recorded certificate`);
}

test('issue --batch: 12 names issued and recorded, each .p12 opens with its password from passwords.csv', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const list = names('lab', 12);
  const r = ca.run(['issue', '--batch', batchFile(ca, 'lab.txt', list)]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(recordedNames(ca), list);
  const csv = join(ca.out, 'passwords.csv');
  assert.equal(statSync(csv).mode & 0o777, 0o600);
  const passwords = readPasswords(csv);
  assert.deepEqual([...passwords.keys()], list, 'one line per name, in file order');
  for (const [name, password] of passwords) {
    assert.match(password, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
    assertOpens(ca, ca.out, name, password);
    assert.equal(statSync(join(ca.out, `${name}.p12`)).mode & 0o777, 0o600);
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'no password on stdout or stderr');
  }
  assert.match(r.stdout, /issued 12 client certificates/);
  assert.ok(r.stdout.includes(csv), 'the output names the CSV');
  // Each identity was its own transaction, recorded by the batch's command.
  const events = withDatabase(ca.home, (db) => db.prepare("SELECT count(*) FROM events WHERE command = 'issue' AND outcome = 'ok'").pluck().get());
  assert.equal(events, 12);
});

test('issue --batch --json prints an array of the issue objects; -q prints only where the passwords are', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const json = ca.run(['issue', '--batch', batchFile(ca, 'a.txt', names('j', 3)), '--key-type', 'ec', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const issued = JSON.parse(json.stdout) as { name: string; serial: string; profile: string; p12Password: string; files: Record<string, string> }[];
  assert.deepEqual(issued.map((i) => i.name), names('j', 3));
  const passwords = readPasswords(join(ca.out, 'passwords.csv'));
  for (const i of issued) {
    assert.equal(i.profile, 'client');
    assert.equal(i.p12Password, passwords.get(i.name));
    assert.equal(i.files.p12, join(ca.out, `${i.name}.p12`));
    assertOpens(ca, ca.out, i.name, i.p12Password);
  }

  const out = join(ca.dir, 'quiet');
  mkdirSync(out);
  const quiet = ca.run(['issue', '--batch', batchFile(ca, 'q.txt', names('q', 2)), '--key-type', 'ec', '--out-dir', out, '-q']);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stdout, join(out, 'passwords.csv') + '\n');
  for (const [name, password] of readPasswords(join(out, 'passwords.csv'))) assertOpens(ca, out, name, password);
});

test('issue --batch with --p12-password-file: every identity takes that password, no CSV', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const pw = secretFile(ca.dir, 'p12-password', 'one-for-all');
  const r = ca.run(['issue', '--batch', batchFile(ca, 'b.txt', names('s', 3)), '--key-type', 'ec', '--curve', 'P-384', '--p12-password-file', pw, '--p12-format', 'modern']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync(join(ca.out, 'passwords.csv')));
  for (const name of names('s', 3)) {
    assertOpens(ca, ca.out, name, 'one-for-all');
    assert.match(openssl(['x509', '-in', join(ca.out, `${name}.pem`), '-noout', '-text']).stdout, /NIST CURVE: P-384/);
  }
});

test('issue --batch refuses before issuing anything: a bad name, a duplicate, no names, names in use', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const refused: [string, string[], RegExp][] = [
    ['bad.txt', ['ok-1', 'ok-2', '../etc', 'ok-3'], /^error: [^\n]*bad\.txt line 5: invalid name "\.\.\/etc"/m],
    ['space.txt', ['ok-1', 'two words'], /^error: [^\n]*space\.txt line 4: invalid name "two words"/m],
    ['dup.txt', ['ok-1', 'ok-2', 'OK-1'], /^error: [^\n]*dup\.txt line 5: "OK-1" is already on line 3/m],
    ['empty.txt', [], /^error: [^\n]*empty\.txt names no device/m],
  ];
  for (const [file, list, message] of refused) {
    const r = ca.run(['issue', '--batch', batchFile(ca, file, list), '--key-type', 'ec']);
    assert.equal(r.code, 2, `${file}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.deepEqual(recordedNames(ca), []);
  assert.deepEqual(readdirSync(ca.out), [], 'no file written, no passwords.csv');

  assert.equal(ca.run(['issue', 'x', '--batch', batchFile(ca, 'ok.txt', ['ok-1'])]).code, 2, 'NAME and --batch');
  assert.equal(ca.run(['issue', '--batch', join(ca.dir, 'missing.txt')]).code, 2, 'a missing file');
  assert.equal(ca.run(['issue', '--batch', batchFile(ca, 'cn.txt', ['ok-1']), '--cn', 'same']).code, 2, '--cn with --batch');

  // A name that already has a valid certificate: exit 1, nothing issued, unless --force.
  ca.ok(['issue', 'taken', '--key-type', 'ec'], { env: { POCKETCA_P12_PASSWORD: 'x-password' } });
  const elsewhere = join(ca.dir, 'elsewhere');
  mkdirSync(elsewhere);
  const file = batchFile(ca, 'taken.txt', ['new-1', 'taken', 'new-2']);
  const taken = ca.run(['issue', '--batch', file, '--key-type', 'ec', '--out-dir', elsewhere]);
  assert.equal(taken.code, 1, taken.stderr);
  assert.match(taken.stderr, /^error: this name already has a valid certificate: taken\nhint: renew one with `pocketca renew taken`/m);
  assert.deepEqual(recordedNames(ca), ['taken']);
  assert.deepEqual(readdirSync(elsewhere), []);
  const forced = ca.run(['issue', '--batch', file, '--key-type', 'ec', '--out-dir', elsewhere, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(recordedNames(ca), ['new-1', 'new-2', 'taken', 'taken']);

  // An earlier batch's passwords are never overwritten without --force.
  const again = ca.run(['issue', '--batch', batchFile(ca, 'again.txt', ['new-3']), '--key-type', 'ec', '--out-dir', elsewhere]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /passwords\.csv already exists/);
});

test('issue --batch failing midway: the issued identities are complete and recorded, the error names the rest', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const out = join(ca.dir, 'devices');
  mkdirSync(out);
  const list = names('m', 6);
  // Paused after the third identity, the output directory is moved away: the fourth cannot be written.
  const run = ca.runAsync(['issue', '--batch', batchFile(ca, 'm.txt', list), '--key-type', 'ec', '--out-dir', out], {
    env: { POCKETCA_TEST_PAUSE_AT: 'batch:3@4000' },
  });
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(out, 'm-03.mobileconfig')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  renameSync(out, out + '.moved');
  const r = await run;
  renameSync(out + '.moved', out);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: stopped: .*; 3 issued and recorded \(m-01, m-02, m-03\), their passwords in .*passwords\.csv; not issued: m-04, m-05, m-06\n/m);
  assert.deepEqual(recordedNames(ca), list.slice(0, 3));
  const passwords = readPasswords(join(out, 'passwords.csv'));
  assert.deepEqual([...passwords.keys()], list.slice(0, 3));
  for (const name of list) {
    const pw = passwords.has(name) ? secretFile(ca.dir, `pw-${name}`, passwords.get(name)!) : '/nonexistent';
    assert.equal(clientIdentityState(ca.home, out, name, pw), passwords.has(name) ? 'complete' : 'absent', name);
  }
});

test('issue --batch at a terminal shows a progress line on stderr', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = runInPty(['issue', '--batch', batchFile(ca, 'p.txt', names('p', 3)), '--key-type', 'ec', '--home', ca.home, '--passphrase-file', ca.passFile], { cwd: ca.out });
  t.after(() => s.kill());
  assert.equal(await s.exited, 0, screenText(s.output()));
  assert.match(s.output(), /issued 1\/3: p-01[\s\S]*issued 3\/3: p-03/);
  assert.match(screenText(s.output()), /issued 3 client certificates/);
});

test('issue 16: names whose output files would collide are exit 2 before anything is issued, naming both', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const out = join(ca.dir, 'servers');
  // `web`'s key and `web.key`'s certificate are both web.key.pem.
  const n = join(ca.dir, 'n');
  writeFileSync(n, 'web\nweb.key\n');
  const r = ca.run(['issue', '--batch', n, '--profile', 'server', '--dns', 'web.lan', '--key-type', 'ec', '--out-dir', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: .*n: "web" \(line 1\) and "web\.key" \(line 2\) would write the same file, web\.key\.pem: web's key and web\.key's certificate\nhint: rename one of the devices in the file; nothing was issued\n/m);
  // Where case is ignored (a FAT stick, macOS), WEB.fullchain.pem is web.fullchain.pem.
  const m = join(ca.dir, 'm');
  writeFileSync(m, '# servers\nweb\n\nWEB.fullchain\n');
  const r2 = ca.run(['issue', '--batch', m, '--profile', 'server', '--dns', 'web.lan', '--key-type', 'ec', '--out-dir', out]);
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /"web" \(line 2\) and "WEB\.fullchain" \(line 4\) would write the same file, web\.fullchain\.pem and WEB\.fullchain\.pem \(one file where case is ignored\)/);
  // A client's certificate and another client's kept key.
  const k = join(ca.dir, 'k');
  writeFileSync(k, 'tab\ntab.key\n');
  const r3 = ca.run(['issue', '--batch', k, '--keep-key', '--key-type', 'ec', '--out-dir', out]);
  assert.equal(r3.code, 2, r3.stderr);
  assert.match(r3.stderr, /would write the same file, tab\.key\.pem: tab's key and tab\.key's certificate/);
  assert.deepEqual(recordedNames(ca), [], 'nothing recorded');
  assert.ok(!existsSync(out), 'nothing written');
});

test('issue 16: a file that appears in the output directory during a batch is left alone; the issued names stay complete and passwords.csv lists exactly them', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const cases = [
    // Between the second and third identity: the third is not recorded.
    { prefix: 'f', point: 'batch:2', intruder: 'f-03.pem', recorded: ['f-01', 'f-02'], says: /; 2 issued and recorded \(f-01, f-02\), their passwords in \S+passwords\.csv; not issued: f-03, f-04\n/ },
    // After the third is recorded, while its files are put in place: recorded, and none of its files stays.
    {
      prefix: 'g',
      point: 'before-rename:g-03.p12',
      intruder: 'g-03.p12',
      recorded: ['g-01', 'g-02', 'g-03'],
      says: /; 2 issued and recorded \(g-01, g-02\), their passwords in \S+passwords\.csv; g-03 is recorded as [0-9a-f]+ but its files were not written and its key is gone \(`pocketca renew g-03 --out-dir DIR` replaces it\); not issued: g-04\n/,
    },
  ];
  for (const c of cases) {
    const list = names(c.prefix, 4);
    const out = join(ca.dir, `out-${c.prefix}`);
    mkdirSync(out);
    const intruder = join(out, c.intruder);
    const run = ca.runAsync(['issue', '--batch', batchFile(ca, `${c.prefix}.txt`, list), '--key-type', 'ec', '--out-dir', out], { env: { POCKETCA_TEST_PAUSE_AT: `${c.point}@4000` } });
    const ready = c.point.startsWith('batch:') ? () => existsSync(join(out, `${c.prefix}-02.mobileconfig`)) : () => readdirSync(out).some((f) => f.startsWith(`.${c.intruder}.tmp-`));
    for (let n = 0; n < 400 && !ready(); n++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ready(), `the batch reached ${c.point}`);
    writeFileSync(intruder, "not pocketca's\n");
    const r = await run;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: stopped: ${intruder.replace(/[.]/g, '\\.')} appeared after it was checked`, 'm'));
    assert.match(r.stderr, c.says);
    assert.equal(readFileSync(intruder, 'utf8'), "not pocketca's\n", 'the file that appeared is not replaced');
    const passwords = readPasswords(join(out, 'passwords.csv'));
    assert.deepEqual([...passwords.keys()], list.slice(0, 2), 'passwords.csv lists exactly the identities issued');
    for (const [name, password] of passwords) assertOpens(ca, out, name, password);
    const rest = readdirSync(out).filter((f) => f.startsWith(`${c.prefix}-03`) || f.startsWith(`${c.prefix}-04`) || f.startsWith('.'));
    assert.deepEqual(rest, [c.intruder], 'nothing of the third and fourth, no temporary file');
    const recorded = withDatabase(ca.home, (db) => db.prepare('SELECT DISTINCT name FROM certificates WHERE name LIKE ? ORDER BY name').pluck().all(`${c.prefix}-%`));
    assert.deepEqual(recorded, c.recorded);
  }
});

test('issue 16: a batch that stops making progress fails loudly: exit 1 naming the identity it stalled at and what was recorded, no temporary file left', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const list = names('w', 8);
  const out = join(ca.dir, 'stalled');
  mkdirSync(out);
  // The PKCS#12 worker's reply for the sixth identity (request 5) comes 10 s late, as a lost one
  // would never come; the batch gives a step 4 s (POCKETCA_TEST_STALL_MS; 120 s otherwise).
  const r = await ca.runAsync(['issue', '--batch', batchFile(ca, 'w.txt', list), '--key-type', 'ec', '--out-dir', out], {
    env: { POCKETCA_TEST_PAUSE_AT: 'pkcs12:5@10000', POCKETCA_TEST_STALL_MS: '4000' },
    timeoutMs: 90_000,
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error: stopped: no progress for 4 s at w-06 \(6 of 8\), waiting for its PKCS#12 password material from the worker thread; 5 issued and recorded \(w-01, w-02, w-03, w-04, w-05\), their passwords in \S+passwords\.csv; not issued: w-06, w-07, w-08\nhint: put the names not issued in a new file/m,
  );
  assert.deepEqual(recordedNames(ca), list.slice(0, 5));
  const passwords = readPasswords(join(out, 'passwords.csv'));
  assert.deepEqual([...passwords.keys()], list.slice(0, 5));
  for (const [name, password] of passwords) assertOpens(ca, out, name, password);
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('.') || f.startsWith('w-06')), [], 'no temporary file, nothing of w-06');
});
