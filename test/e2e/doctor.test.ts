/**
 * `pocketca doctor`: the CRL first, then the database, key, certificate,
 * bundle, expiring certificates and file modes; exit 1 when a check fails.
 * The expired CRL is made by openssl (pocketca refuses to sign one); that
 * nginx and Apache really refuse everyone with it is in the proxy tests.
 * Run: npx tsc -p . && node --test dist/test/e2e/doctor.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, secretFile, type TestCa } from '../helpers/cli';
import { writeExpiredCrl, writeOpensslCrl } from '../helpers/proxy-fixture';
import { requireTool } from '../helpers/tools';

interface Report {
  home: string;
  ok: boolean;
  checks: { name: string; status: string; message: string; daysLeft?: number; expiring?: { name: string }[]; files?: { path: string; mode: string; expected: string }[] }[];
}

function doctor(ca: TestCa, args: string[] = []): { code: number; report: Report; stderr: string } {
  const r = ca.run(['doctor', '--json', ...args]);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

const check = (report: Report, name: string) => report.checks.find((c) => c.name === name)!;

function withCa(t: import('node:test').TestContext): TestCa {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  return ca;
}

test('doctor: a fresh home passes, the CRL check first with the days left; the key is opened only with a passphrase', (t) => {
  const ca = withCa(t);
  const plain = doctor(ca);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.report.ok, true);
  assert.deepEqual(
    plain.report.checks.map((c) => c.name),
    ['crl', 'database', 'ca-key', 'ca-certificate', 'bundle', 'certificates', 'file-modes', 'leftovers'],
  );
  const crl = check(plain.report, 'crl');
  assert.equal(crl.status, 'ok');
  assert.ok(crl.daysLeft! >= 363 && crl.daysLeft! <= 365, `default CRL validity is 365 days, got ${crl.daysLeft}`);
  assert.equal(check(plain.report, 'ca-key').status, 'skip');
  assert.match(check(plain.report, 'ca-key').message, /--passphrase-file/);

  const withKey = doctor(ca, ['--passphrase-file', ca.passFile]);
  assert.equal(withKey.code, 0);
  assert.equal(check(withKey.report, 'ca-key').status, 'ok');
  assert.ok(withKey.report.checks.every((c) => c.status === 'ok'), JSON.stringify(withKey.report.checks));

  const human = ca.run(['doctor']);
  assert.equal(human.code, 0);
  assert.match(human.stdout.split('\n')[0]!, /^ok\s+crl\s+the CRL expires \S+: \d+ days before the proxies refuse every client$/);
});

test('doctor: a CRL that expired, or expires within 7 days, fails and says how long the proxies have', (t) => {
  const ca = withCa(t);
  ca.ok(['crl', '--days', '3']);
  const soon = doctor(ca);
  assert.equal(soon.code, 1);
  assert.equal(soon.report.ok, false);
  const crl = check(soon.report, 'crl');
  assert.equal(crl.status, 'fail');
  assert.ok(crl.daysLeft === 2 || crl.daysLeft === 3, String(crl.daysLeft));
  assert.match(crl.message, /days before the proxies refuse every client; run `pocketca crl`/);
  assert.match(soon.stderr, /^error: 1 check failed: crl$/m);

  writeExpiredCrl(ca);
  const expired = doctor(ca);
  assert.equal(expired.code, 1);
  assert.equal(check(expired.report, 'crl').status, 'fail');
  assert.match(check(expired.report, 'crl').message, /the CRL expired .*: the proxies refuse every client/);

  ca.ok(['crl']);
  assert.equal(doctor(ca).code, 0, 'a new CRL fixes it');
});

test('doctor: a CRL of another CA, a bundle without the CA, a wrong passphrase fail', (t) => {
  const ca = withCa(t);
  const other = createTestCa(['--name', 'Other CA']);
  t.after(() => other.cleanup());
  copyFileSync(join(other.home, 'crl.pem'), join(ca.home, 'crl.pem'));
  copyFileSync(join(other.home, 'bundle.pem'), join(ca.home, 'bundle.pem'));
  const wrong = secretFile(ca.dir, 'wrong', 'not the passphrase');
  const r = doctor(ca, ['--passphrase-file', wrong]);
  assert.equal(r.code, 1);
  assert.match(check(r.report, 'crl').message, /not signed by this CA/);
  assert.equal(check(r.report, 'bundle').status, 'fail');
  assert.equal(check(r.report, 'ca-key').status, 'fail');
  assert.match(check(r.report, 'ca-key').message, /wrong CA passphrase/);
  assert.match(r.stderr, /error: 3 checks failed: crl, ca-key, bundle/);
});

test('doctor: certificates expiring within 30 days are a warning, not a failure', (t) => {
  const ca = withCa(t);
  ca.ok(['issue', 'short-lived', '--days', '10', '--no-mobileconfig']);
  ca.ok(['issue', 'long-lived', '--no-mobileconfig']);
  const r = doctor(ca);
  assert.equal(r.code, 0, r.stderr);
  const certs = check(r.report, 'certificates');
  assert.equal(certs.status, 'warn');
  assert.deepEqual(certs.expiring!.map((c) => c.name), ['short-lived']);
  assert.match(certs.message, /1 of 2 expire within 30 days: short-lived/);
});

test('doctor: a home, key or database others can read fails', (t) => {
  const ca = withCa(t);
  chmodSync(ca.home, 0o755);
  chmodSync(join(ca.home, 'ca.key.pem'), 0o644);
  const r = doctor(ca);
  assert.equal(r.code, 1);
  const modes = check(r.report, 'file-modes');
  assert.equal(modes.status, 'fail');
  assert.match(modes.message, /home is 0755 \(chmod 700 it\)/);
  assert.match(modes.message, /ca\.key\.pem is 0644 \(chmod 600 it\)/);
});

test("doctor: SQLite's -wal and -shm and any other file under the home are checked, and --json names each with its mode", async (t) => {
  if (!requireTool(t, 'python3')) return;
  const ca = withCa(t);
  ca.ok(['issue', 'phone', '--profile-password', '--sign-profile'], { env: { POCKETCA_P12_PASSWORD: 'test-p12-password' } });
  const db = join(ca.home, 'pocketca.db');
  // Another process holding the database open keeps its -wal (with a committed write in it: SQLite
  // re-chmods an empty one when it opens it) and -shm; they are then opened up as a umask-000 run of
  // an older pocketca left them (issue 9).
  const holder = spawn('python3', [
    '-c',
    'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update certificates set name=name"); c.commit(); print("open", flush=True); sys.stdin.read()',
    db,
  ]);
  t.after(() => holder.kill());
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`python3 exited ${code}`)));
  });
  for (const suffix of ['-wal', '-shm']) {
    assert.ok(existsSync(db + suffix), `${db}${suffix} exists while the database is open`);
    chmodSync(db + suffix, 0o644);
  }
  chmodSync(join(ca.home, 'profile-signer.key.pem'), 0o640);
  writeFileSync(join(ca.home, 'notes.txt'), 'mine', { mode: 0o644 });
  chmodSync(join(ca.home, 'notes.txt'), 0o644);
  chmodSync(join(ca.home, 'crl.pem'), 0o666);
  const r = doctor(ca);
  holder.stdin.end();
  assert.equal(r.code, 1, r.stderr);
  const modes = check(r.report, 'file-modes');
  assert.equal(modes.status, 'fail');
  assert.deepEqual(
    modes.files!.map((f) => [f.path.slice(ca.home.length + 1), f.mode, f.expected]),
    [
      ['crl.pem', '0666', '0644'],
      ['notes.txt', '0644', '0600'],
      ['pocketca.db-shm', '0644', '0600'],
      ['pocketca.db-wal', '0644', '0600'],
      ['profile-signer.key.pem', '0640', '0600'],
    ],
  );
  assert.match(modes.message, /pocketca\.db-wal is 0644 \(chmod 600 it\)/);
  assert.match(modes.message, /crl\.pem is writable by others \(0666; chmod 644 it\)/);
  // The human report says it too, and a home put right passes.
  assert.match(ca.run(['doctor']).stdout, /fail\s+file-modes\s+.*pocketca\.db-shm is 0644/);
  for (const f of modes.files!) chmodSync(f.path, Number.parseInt(f.expected, 8));
  const fixed = doctor(ca);
  assert.equal(check(fixed.report, 'file-modes').status, 'ok', check(fixed.report, 'file-modes').message);
  assert.deepEqual(check(fixed.report, 'file-modes').files, []);
});

test('doctor: a damaged database fails its check and the others still run; no CA at all is exit 1 with a hint', (t) => {
  const ca = withCa(t);
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(ca.home, `pocketca.db${suffix}`), { force: true });
  writeFileSync(join(ca.home, 'pocketca.db'), Buffer.alloc(4096, 0x41), { mode: 0o600 });
  const r = doctor(ca);
  assert.equal(r.code, 1);
  assert.equal(check(r.report, 'database').status, 'fail');
  assert.equal(check(r.report, 'certificates').status, 'skip');
  assert.equal(check(r.report, 'crl').status, 'ok', 'the CRL file is still good');

  const none = pocketca(['doctor', '--home', join(ca.dir, 'nothing-here')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: no CA in .*nothing-here\nhint: .*pocketca init/);
});

test('doctor: names the temporary files a killed write left in the home (with the rm for them), not those of a live writer', (t) => {
  const ca = withCa(t);
  const killed = ca.run(['crl'], { env: { POCKETCA_TEST_DIE_AT: 'before-rename:crl.pem' } });
  assert.notEqual(killed.code, 0, 'the crl run was killed before its rename');
  const left = readdirSync(ca.home).filter((n) => n.startsWith('.crl.pem.tmp-'));
  assert.equal(left.length, 1, readdirSync(ca.home).join(' '));
  // A write in progress: this test runner's own pid is alive.
  const live = join(ca.home, `.ca.pem.tmp-${process.pid}-0123abcd`);
  writeFileSync(live, 'partial', { mode: 0o600 });

  const r = doctor(ca);
  assert.equal(r.code, 0, 'a warning, not a failure');
  const leftovers = check(r.report, 'leftovers');
  assert.equal(leftovers.status, 'warn');
  assert.match(leftovers.message, /^1 temporary file of writes that never finished/);
  assert.ok(leftovers.message.endsWith(`rm '${join(ca.home, left[0]!)}'`), leftovers.message);
  assert.ok(!leftovers.message.includes(live), 'not the live writer\'s file');

  rmSync(join(ca.home, left[0]!));
  assert.equal(check(doctor(ca).report, 'leftovers').status, 'ok');
});

test('doctor --deployed-crl: a proxy copy missing a revocation fails; an older one with the same revocations warns; the latest passes', (t) => {
  const ca = withCa(t);
  const other = withCa(t);
  ca.ok(['issue', 'lost-phone']);
  const deployed = join(ca.dir, 'deployed-crl.pem');
  copyFileSync(join(ca.home, 'crl.pem'), deployed);
  const deployedCheck = (files: string[]) => {
    const r = doctor(ca, files.flatMap((f) => ['--deployed-crl', f]));
    return { code: r.code, checks: r.report.checks.filter((c) => c.name === 'deployed-crl') as (Report['checks'][number] & { path: string })[] };
  };

  let r = deployedCheck([deployed]);
  assert.equal(r.code, 0);
  assert.equal(r.checks.length, 1);
  assert.equal(r.checks[0]!.status, 'ok', r.checks[0]!.message);
  assert.equal(r.checks[0]!.path, deployed);

  ca.ok(['revoke', 'lost-phone', '--reason', 'keyCompromise']);
  r = deployedCheck([deployed]);
  assert.equal(r.code, 1, 'the revoked phone still gets in through that proxy');
  assert.equal(r.checks[0]!.status, 'fail');
  assert.match(r.checks[0]!.message, /is CRL number 1 and does not list 1 revoked certificate, still let in there: [0-9a-f]+ \(lost-phone\); copy .*crl\.pem to .*deployed-crl\.pem and reload the proxy/);
  // That proxy's file really lets it in: openssl with the deployed CRL accepts the revoked certificate.
  const verifyWith = (crl: string) =>
    openssl(['verify', '-crl_check', '-CAfile', join(ca.home, 'ca.pem'), '-CRLfile', crl, join(ca.out, 'lost-phone.pem')]).stdout;
  assert.match(verifyWith(deployed), /: OK/);
  assert.doesNotMatch(verifyWith(join(ca.home, 'crl.pem')), /: OK/);

  copyFileSync(join(ca.home, 'crl.pem'), deployed);
  ca.ok(['crl']);
  r = deployedCheck([deployed]);
  assert.equal(r.code, 0);
  assert.equal(r.checks[0]!.status, 'warn');
  assert.match(r.checks[0]!.message, /CRL number 2, not 3, the latest \(no revocations missing\)/);

  copyFileSync(join(ca.home, 'crl.pem'), deployed);
  const foreign = join(ca.dir, 'foreign-crl.pem');
  copyFileSync(join(other.home, 'crl.pem'), foreign);
  r = deployedCheck([deployed, foreign, join(ca.dir, 'absent.pem')]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.checks.map((c) => c.status), ['ok', 'fail', 'fail']);
  assert.match(r.checks[1]!.message, /is not a CRL of this CA/);
  assert.match(r.checks[2]!.message, /absent\.pem/);
});

test('doctor --deployed-crl compares serials, not counts: a newer CRL of this CA listing as many certificates, but other ones, fails naming the missing one', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = withCa(t);
  const serialOf = (name: string) => (JSON.parse(ca.ok(['issue', name, '--json']).stdout) as { serial: string }).serial;
  const lost = serialOf('lost-phone');
  const spare = serialOf('spare-phone');
  ca.ok(['revoke', 'lost-phone', '--reason', 'keyCompromise']);
  // Signed by this CA's key with openssl, numbered 1000 (above pocketca's 2), one entry as pocketca's has: spare-phone, not lost-phone.
  const deployed = join(ca.dir, 'other-serials.pem');
  const day = 86_400_000;
  writeOpensslCrl(ca, deployed, { revoked: [spare], lastUpdate: new Date(Date.now() - day), nextUpdate: new Date(Date.now() + 30 * day) });
  assert.match(openssl(['crl', '-in', deployed, '-noout', '-text']).stdout, new RegExp(spare.toUpperCase()));
  const r = doctor(ca, ['--deployed-crl', deployed]);
  assert.equal(r.code, 1, 'lost-phone still gets in through that proxy');
  const c = check(r.report, 'deployed-crl');
  assert.equal(c.status, 'fail');
  assert.match(c.message, new RegExp(`does not list 1 revoked certificate, still let in there: ${lost} \\(lost-phone\\)`));
});

test('doctor --deployed-crl reads the DER CRL that crl --der --out writes, as it reads PEM; neither-nor fails', (t) => {
  const ca = withCa(t);
  ca.ok(['issue', 'lost-phone']);
  ca.ok(['revoke', 'lost-phone']);
  const der = join(ca.dir, 'deployed.crl');
  ca.ok(['crl', '--der', '--out', der]);
  // openssl reads it as DER, and as this CA's CRL with the revocation.
  const text = openssl(['crl', '-inform', 'DER', '-in', der, '-CAfile', join(ca.home, 'ca.pem'), '-noout', '-text']);
  assert.match(text.stderr + text.stdout, /verify OK/);
  assert.match(text.stdout, /CRL Number:\s+3/);
  let r = doctor(ca, ['--deployed-crl', der]);
  const deployed = () => check(r.report, 'deployed-crl');
  assert.equal(r.code, 0, deployed().message);
  assert.equal(deployed().status, 'ok');
  assert.match(deployed().message, /the latest CRL \(number 3\)/);
  ca.ok(['issue', 'second-phone']);
  ca.ok(['revoke', 'second-phone']);
  r = doctor(ca, ['--deployed-crl', der]);
  assert.equal(r.code, 1);
  assert.match(deployed().message, /is CRL number 3 and does not list 1 revoked certificate, still let in there: [0-9a-f]+ \(second-phone\)/, 'the DER copy is read, not just accepted');
  const junk = join(ca.dir, 'junk.crl');
  writeFileSync(junk, Buffer.concat([readFileSync(der), Buffer.from([0])]));
  r = doctor(ca, ['--deployed-crl', junk]);
  assert.equal(r.code, 1);
  assert.match(deployed().message, /junk\.crl holds no CRL \(PEM or DER\)/);
});
