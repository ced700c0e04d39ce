/**
 * SPEC "Guarantees": two (here eight) pocketca processes on one home at once
 * all succeed or fail cleanly; serials are unique; CRL numbers only increase;
 * the last CRL lists exactly the revoked serials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, secretFile, type RunResult } from '../helpers/cli';
import { requireTool } from '../helpers/tools';
import { crlNumbers, fingerprintOfPem, integrityCheck, p12LeafPem, readCrl, readPasswordsCsv, revokedSerials, withDatabase } from '../helpers/guarantees';

test('8 processes issuing, signing, revoking, renewing and re-signing CRLs on one home at once', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const p12 = ['--p12-password-file', secretFile(ca.dir, 'p12-password', 'concurrency')];
  const csr = join(ca.dir, 'device.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', csr + '.key', '-subj', '/CN=device', '-out', csr]).code, 0);
  for (let i = 0; i < 6; i++) ca.ok(['sign', csr, '--name', `v${i}`, '--out', join(ca.out, `v${i}.pem`)]);
  ca.ok(['issue', 'phone-a', ...p12]);
  ca.ok(['issue', 'phone-b', ...p12]);

  const rounds: string[][][] = [
    [
      ['issue', 'n0', ...p12],
      ['issue', 'n1', '--profile', 'server', '--dns', 'n1.home.arpa'],
      ['sign', csr, '--name', 'g0'],
      ['revoke', 'v0'],
      ['revoke', 'v1', '--reason', 'keyCompromise'],
      // Two processes revoking the same certificate: exactly one may win.
      ['revoke', 'v2'],
      ['revoke', 'v2'],
      ['crl'],
    ],
    [
      ['renew', 'phone-a', ...p12],
      ['renew', 'phone-b', ...p12, '--keep-old'],
      ['revoke', 'v3'],
      ['revoke', 'v4'],
      ['crl'],
      ['crl', '--days', '30'],
      ['issue', 'n2', ...p12],
      ['sign', csr, '--name', 'g1', '--profile', 'server', '--dns', 'g1.home.arpa'],
    ],
  ];
  const reportedCrls: number[] = [];
  for (const round of rounds) {
    const results: RunResult[] = await Promise.all(round.map((args) => ca.runAsync([...args, '--json'], { timeoutMs: 120_000 })));
    results.forEach((r, i) => {
      const what = `pocketca ${round[i]!.join(' ')}`;
      assert.ok(r.code === 0 || r.code === 1, `${what} exited ${r.code}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /internal error|SQLITE_|at .*\.js:\d+/, `${what}: a clean error`);
      if (r.code === 1) {
        assert.match(r.stderr, /^error: /m, `${what}: one error line`);
        return;
      }
      const json = JSON.parse(r.stdout);
      if (typeof json.number === 'number') reportedCrls.push(json.number);
      if (typeof json.crlNumber === 'number') reportedCrls.push(json.crlNumber);
    });
    const v2 = results.map((r, i) => ({ r, args: round[i]! })).filter((x) => x.args[0] === 'revoke' && x.args[1] === 'v2');
    if (v2.length) {
      assert.deepEqual(v2.map((x) => x.r.code).sort(), [0, 1], 'one revoke of v2 wins, the other is refused');
      assert.match(v2.find((x) => x.r.code === 1)!.r.stderr, /already revoked/);
    }
    for (const [i, r] of results.entries()) if (round[i]![0] !== 'revoke' || round[i]![1] !== 'v2') assert.equal(r.code, 0, `${round[i]!.join(' ')}: ${r.stderr}`);
  }

  assert.equal(integrityCheck(ca.home), 'ok');
  const serials = withDatabase(ca.home, (db) => db.prepare('SELECT serial FROM certificates').pluck().all() as string[]);
  assert.equal(new Set(serials).size, serials.length, 'serials are unique');
  // 6 signed + 2 phones, then round 1: 2 issued + 1 signed; round 2: 2 renewed + 1 issued + 1 signed.
  assert.equal(serials.length, 8 + 3 + 4);

  assert.equal(new Set(reportedCrls).size, reportedCrls.length, `every CRL a process reported has its own number: ${reportedCrls}`);
  const numbers = crlNumbers(ca.home);
  for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i]! > numbers[i - 1]!, `CRL numbers strictly increase in signing order: ${numbers}`);
  // init's CRL, then: round 1 three revokes + one crl; round 2 one renew + two revokes + two crls.
  assert.equal(numbers.length, 1 + 4 + 5);

  const crl = readCrl(ca.home);
  assert.equal(crl.number, Math.max(...numbers), 'crl.pem is the newest CRL');
  const revoked = revokedSerials(ca.home);
  assert.deepEqual(crl.serials, revoked, 'the final CRL lists exactly the revoked serials');
  assert.equal(revoked.length, 5 + 1, 'v0-v4 and the renewed phone-a');
});

/** The fingerprints recorded for `name`, from the database itself. */
const recordedFor = (home: string, name: string): string[] =>
  withDatabase(home, (db) => db.prepare('SELECT fingerprint_sha256 FROM certificates WHERE name = ?').pluck().all(name) as string[]);

test('issue 16: two `issue NAME` at once, 5 rounds: one certificate; the other run exits 1 with the renew hint and records nothing', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const p12 = secretFile(ca.dir, 'p12-password', 'one-name');
  for (let round = 0; round < 5; round++) {
    const name = `phone-${round}`;
    // From round 3 each run waits a second inside its recording transaction: the second run has long
    // passed the early check, and only the check inside its own transaction can stop it.
    const env = round >= 3 ? { POCKETCA_TEST_PAUSE_AT: 'issue:recording@1000' } : undefined;
    const dirs = [join(ca.dir, `r${round}-a`), join(ca.dir, `r${round}-b`)];
    const results = await Promise.all(dirs.map((dir) => ca.runAsync(['issue', name, '--key-type', 'ec', '--p12-password-file', p12, '--out-dir', dir], { env, timeoutMs: 120_000 })));
    assert.deepEqual(results.map((r) => r.code).sort(), [0, 1], `round ${round}: one run succeeds, the other fails\n${results.map((r) => r.stderr).join('\n')}`);
    const winner = results.findIndex((r) => r.code === 0);
    assert.match(
      results[1 - winner]!.stderr,
      new RegExp(`^error: ${name} already has a valid certificate: [0-9a-f]+, expires [0-9-]+; nothing was issued\\nhint: pocketca renew ${name} `, 'm'),
    );
    const recorded = recordedFor(ca.home, name);
    assert.equal(recorded.length, 1, `round ${round}: one certificate recorded for ${name}`);
    assert.deepEqual(recorded, [fingerprintOfPem(p12LeafPem(join(dirs[winner]!, `${name}.p12`), p12))], "the winner's .p12 holds it");
    const loserDir = dirs[1 - winner]!;
    assert.ok(!existsSync(loserDir) || readdirSync(loserDir).length === 0, `the run that failed wrote nothing: ${existsSync(loserDir) ? readdirSync(loserDir) : ''}`);
  }
  const events = withDatabase(ca.home, (db) => db.prepare("SELECT count(*) FROM events WHERE command = 'issue' AND outcome = 'ok'").pluck().get());
  assert.equal(events, 5, 'one issue recorded per round');
});

test('issue 16: two identical `issue --batch` at once: each name recorded once, every .p12 opens with the password passwords.csv gives', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // Two rounds into one output directory (the usual: both in the same folder), one into two.
  for (const [round, sameDir] of [[0, true], [1, true], [2, false]] as const) {
    const names = Array.from({ length: 6 }, (_, i) => `b${round}-${i + 1}`);
    const file = join(ca.dir, `batch-${round}.txt`);
    writeFileSync(file, names.join('\n') + '\n');
    const dirs = sameDir ? [join(ca.dir, `same-${round}`), join(ca.dir, `same-${round}`)] : [join(ca.dir, `a-${round}`), join(ca.dir, `b-${round}`)];
    const results = await Promise.all(dirs.map((dir) => ca.runAsync(['issue', '--batch', file, '--key-type', 'ec', '--out-dir', dir], { timeoutMs: 120_000 })));
    const label = `round ${round}${sameDir ? ' (one directory)' : ''}`;
    assert.deepEqual(results.map((r) => r.code).sort(), [0, 1], `${label}: one batch succeeds, the other fails\n${results.map((r) => r.stderr).join('\n')}`);
    const winner = results.findIndex((r) => r.code === 0);
    // Refused by whichever check it met first: the early look at passwords.csv or the names, the
    // file that appeared at publishing, or the name's certificate inside the recording transaction.
    assert.match(results[1 - winner]!.stderr, /^error: .*(already exists|appeared after it was checked|already has a valid certificate)/m, `${label}: ${results[1 - winner]!.stderr}`);
    for (const name of names) assert.equal(recordedFor(ca.home, name).length, 1, `${label}: ${name} recorded once`);
    const passwords = readPasswordsCsv(join(dirs[winner]!, 'passwords.csv'));
    assert.deepEqual([...passwords.keys()], names, `${label}: passwords.csv names every device once`);
    for (const [name, password] of passwords) {
      const leaf = p12LeafPem(join(dirs[winner]!, `${name}.p12`), secretFile(ca.dir, `pw-${name}`, password));
      assert.deepEqual(recordedFor(ca.home, name), [fingerprintOfPem(leaf)], `${label}: ${name}.p12 opens with its password and holds its certificate`);
    }
    if (!sameDir) assert.deepEqual(readdirSync(dirs[1 - winner]!), [], `${label}: the batch that failed left no file, no passwords.csv`);
  }
});

test('issue 16: two `renew NAME` at once: one new certificate; the other run exits 1 and records nothing; one valid certificate stays', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const p12 = ['--p12-password-file', secretFile(ca.dir, 'p12-password', 'renewed')];
  for (let round = 0; round < 3; round++) {
    const name = `tab-${round}`;
    ca.ok(['issue', name, '--key-type', 'ec', ...p12]);
    // Each run waits inside its recording transaction: the second finds the first's certificate there.
    const env = { POCKETCA_TEST_PAUSE_AT: 'renew:recording@1000' };
    const dirs = [join(ca.dir, `${name}-a`), join(ca.dir, `${name}-b`)];
    const results = await Promise.all(dirs.map((dir) => ca.runAsync(['renew', name, ...p12, '--out-dir', dir], { env, timeoutMs: 120_000 })));
    assert.deepEqual(results.map((r) => r.code).sort(), [0, 1], `round ${round}\n${results.map((r) => r.stderr).join('\n')}`);
    const loser = results.find((r) => r.code === 1)!;
    assert.match(loser.stderr, new RegExp(`^error: ${name} got another certificate while this renewal ran .*nothing was issued\\nhint: `, 'm'));
    const certs = withDatabase(ca.home, (db) =>
      db.prepare('SELECT c.serial, r.reason FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial WHERE c.name = ?').all(name) as { serial: string; reason: string | null }[],
    );
    assert.equal(certs.length, 2, `round ${round}: the old certificate and one new one`);
    assert.deepEqual(certs.map((c) => c.reason).sort(), ['superseded', null].sort(), 'the old one superseded, one valid');
  }
});
