/**
 * Issue 16, item 4 (SPEC "Backups never roll revocations back"): `restore`
 * of an older backup keeps every revocation the replaced home of the same CA
 * knows, and `restore --deployed-crl` every one a CRL of this CA lists (the
 * proxy's copy, after the laptop died), serials the backup never knew
 * included; CRL numbers only rise. Checked with openssl (the CRLs, a revoked
 * certificate refused) and the restored home's own list, show and log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, type RunResult, type TestCa } from '../helpers/cli';
import { integrityCheck, readCrl, snapshotDir } from '../helpers/guarantees';
import { opensslCa } from '../helpers/online-ca';
import { requireTool } from '../helpers/tools';

interface Listed {
  serial: string;
  name: string | null;
  subject: string | null;
  status: string;
  revokedAt: string | null;
  reason: string | null;
}
interface Kept {
  serial: string;
  name: string | null;
  reason: string;
  revokedAt: string;
  from: string;
}

/** Run against `home` (the test CA's helper would add its own --home). */
const at = (ca: TestCa, home: string, args: string[]): RunResult =>
  pocketca([...args, '--home', home, ...(['list', 'show', 'log'].includes(args[0]!) ? [] : ['--passphrase-file', ca.passFile])], { cwd: ca.out });
const okAt = (ca: TestCa, home: string, args: string[]): RunResult => {
  const r = at(ca, home, args);
  assert.equal(r.code, 0, `pocketca ${args.join(' ')} --home ${home}: ${r.stderr}`);
  return r;
};
const listed = (ca: TestCa, home: string, which = '--all'): Listed[] => JSON.parse(okAt(ca, home, ['list', which, '--json']).stdout);

/** `openssl verify -crl_check` of a certificate against the home's CA and crl.pem. */
const verifyWithCrl = (home: string, cert: string) => openssl(['verify', '-crl_check', '-CAfile', join(home, 'ca.pem'), '-CRLfile', join(home, 'crl.pem'), cert]);

/** The entry openssl prints for a serial, with its reason (`Key Compromise`...), or without a reason code. */
const crlEntry = (serial: string, words?: string) =>
  words
    ? new RegExp(`Serial Number: ${serial.toUpperCase()}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+${words}\\n`)
    : new RegExp(`Serial Number: ${serial.toUpperCase()}\\s+Revocation Date: [^\\n]+\\n(?!\\s+CRL entry extensions)`);

test('issue 16: an older backup restored over a newer home of the same CA keeps the revocations made since, with reasons and dates; the next CRL is above both', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const phone = JSON.parse(ca.ok(['issue', 'lost-phone', '--json']).stdout);
  ca.ok(['issue', 'laptop']);
  const file = join(ca.dir, 'old.backup');
  ca.ok(['backup', file]);
  // After the backup: the phone is lost, a tablet is issued and withdrawn, a CRL published (number 4).
  ca.ok(['revoke', 'lost-phone', '--reason', 'keyCompromise']);
  const tablet = JSON.parse(ca.ok(['issue', 'tablet', '--json']).stdout);
  ca.ok(['revoke', 'tablet', '--reason', 'privilegeWithdrawn']);
  ca.ok(['crl']);
  const before = readCrl(ca.home);
  assert.equal(before.number, 4);
  const revokedBefore = listed(ca, ca.home, '--revoked');

  // Refused without --force, saying it is the same CA and what --force keeps.
  const refused = ca.run(['restore', file]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /^error: a CA already exists in .*: the backup's own CA\nhint: pass --force .*revocations only the home knows are kept/m);

  // Killed after writing the other files, before its database takes the home's place: nothing the home knew is lost.
  const killed = ca.run(['restore', file, '--force'], { env: { POCKETCA_TEST_DIE_AT: 'restore:files-written' } });
  assert.equal(killed.code, 128, `to die at restore:files-written, but exited ${killed.code}: ${killed.stderr}`);
  assert.deepEqual(listed(ca, ca.home, '--revoked'), revokedBefore, 'the replaced database is whole after a killed restore');
  const onDisk = readCrl(ca.home);
  assert.equal(onDisk.number, 5, 'the killed restore had put its new CRL in place');
  assert.deepEqual(onDisk.serials, before.serials, 'listing both');

  const r = ca.ok(['restore', file, '--force', '--json']);
  const result = JSON.parse(r.stdout) as { kept: Kept[]; crlNumber: number; crlSigned: boolean; replaced: { sameCa: boolean }; revocations: number };
  assert.deepEqual(result.replaced, { sameCa: true, caSubject: 'CN=pocketca Root CA' });
  assert.deepEqual(
    result.kept.map((k) => [k.serial, k.name, k.reason, k.from]),
    [
      [phone.serial, 'lost-phone', 'keyCompromise', 'the replaced home'],
      [tablet.serial, 'tablet', 'privilegeWithdrawn', 'the replaced home'],
    ],
  );
  assert.equal(result.crlSigned, true);
  assert.equal(result.crlNumber, 6, 'above the 4 the replaced home recorded and the 5 the killed restore left in crl.pem');
  assert.equal(result.revocations, 2);
  assert.equal(integrityCheck(ca.home), 'ok');

  // The restored home: both still revoked, with the reasons and dates they had (the tablet's record too, issued after the backup).
  assert.deepEqual(listed(ca, ca.home, '--revoked'), revokedBefore);
  const text = ca.ok(['list', '--revoked']).stdout;
  assert.match(text, /^[0-9a-f]+\s+lost-phone\s+client\s+revoked \(keyCompromise\)/m);
  // The CRL signed at restore, read by openssl: both listed with their reasons, number 6.
  const after = readCrl(ca.home);
  assert.equal(after.number, 6);
  assert.deepEqual(after.serials, [phone.serial, tablet.serial].sort());
  assert.match(after.text, crlEntry(phone.serial, 'Key Compromise'));
  assert.match(after.text, crlEntry(tablet.serial, 'Privilege Withdrawn'));
  const verified = verifyWithCrl(ca.home, phone.files.cert);
  assert.match(verified.stdout + verified.stderr, /certificate revoked/, 'the lost phone is refused');
  // The revocations' own log lines came with them, and restore says what it kept.
  const log = JSON.parse(ca.ok(['log', '--json']).stdout) as { command: string; serial: string | null; detail: string | null }[];
  assert.ok(log.some((e) => e.command === 'revoke' && e.serial === phone.serial && e.detail === 'keyCompromise'), 'the revoke of the lost phone is in the log');
  assert.ok(log.some((e) => e.command === 'restore' && e.serial === tablet.serial && /^kept: revoked \S+ \(privilegeWithdrawn\), known to the replaced home/.test(e.detail ?? '')));
  // The report at a terminal lists them too.
  ca.ok(['crl']);
  assert.equal(readCrl(ca.home).number, 7, 'numbers go on rising');
  const again = ca.ok(['restore', file, '--force']);
  assert.match(again.stdout, /^ {2}kept {9}2 revocations the backup did not have:\n {4}[0-9a-f]+ {2}lost-phone {2}keyCompromise {2}\S+ {2}from the replaced home\n/m);
  assert.match(again.stdout, /^ {2}CRL number {3}8 \(signed now, listing every revocation\)$/m);
  assert.match(again.stderr, /^next: copy \S+crl\.pem to the proxies and reload them/m);
});

test('issue 16: restore --deployed-crl with the proxy\'s copy (PEM and DER) records the revocations made after the backup, serials it never knew included', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // An intermediate whose CRL the proxy's crl.pem carries after the root's (`proxy --crl-file`).
  const online = opensslCa(ca.dir);
  writeFileSync(online.cert, JSON.parse(ca.ok(['sign', online.csr, '--profile', 'intermediate', '--name', 'online-ca', '--json']).stdout).pem);
  const onlineCrl = join(online.dir, 'online.crl.pem');
  online.crl(onlineCrl);
  ca.ok(['issue', 'proxy', '--profile', 'server', '--dns', 'localhost']);
  const phone = JSON.parse(ca.ok(['issue', 'phone', '--json']).stdout);
  ca.ok(['issue', 'desktop']);
  const file = join(ca.dir, 'old.backup');
  ca.ok(['backup', file]);
  // After the backup: a watch is issued and lost, the phone replaced; published to the proxy.
  const watch = JSON.parse(ca.ok(['issue', 'watch', '--json']).stdout);
  ca.ok(['revoke', 'watch', '--reason', 'keyCompromise']);
  ca.ok(['revoke', 'phone', '--reason', 'superseded']);
  const toProxy = join(ca.dir, 'to-proxy');
  ca.ok(['proxy', 'nginx', '--upstream', 'http://127.0.0.1:8123', '--cert', join(ca.out, 'proxy.pem'), '--key', join(ca.out, 'proxy.key.pem'), '--crl-file', onlineCrl, '--out-dir', toProxy]);
  const proxyCrl = join(toProxy, 'crl.pem');
  const proxyNumber = readCrl(ca.home).number;
  const der = join(ca.dir, 'proxy-crl.der');
  assert.equal(openssl(['crl', '-in', proxyCrl, '-outform', 'DER', '-out', der]).code, 0);
  // The laptop dies: the home is gone.
  rmSync(ca.home, { recursive: true, force: true });

  for (const [label, deployed, home] of [['PEM, the proxy\'s own file', proxyCrl, ca.home], ['DER', der, join(ca.dir, 'from-der')]] as const) {
    const r = okAt(ca, home, ['restore', file, '--deployed-crl', deployed, '--json']);
    const result = JSON.parse(r.stdout) as { kept: Kept[]; crlNumber: number; deployedCrls: { number: number; othersLeftOut: number; entries: number }[] };
    assert.deepEqual(
      result.kept.map((k) => [k.serial, k.name, k.reason, k.from]).sort(),
      [
        [phone.serial, 'phone', 'superseded', deployed],
        [watch.serial, null, 'keyCompromise', deployed],
      ].sort(),
      label,
    );
    assert.deepEqual(result.deployedCrls.map((d) => [d.number, d.entries, d.othersLeftOut]), [[proxyNumber, 2, label === 'DER' ? 0 : 1]], label);
    assert.ok(result.crlNumber > proxyNumber, `${label}: CRL number ${result.crlNumber} above the deployed ${proxyNumber}`);
    const crl = readCrl(home);
    assert.equal(crl.number, result.crlNumber, label);
    assert.deepEqual(crl.serials, [phone.serial, watch.serial].sort(), label);
    assert.match(crl.text, crlEntry(watch.serial, 'Key Compromise'), label);
    assert.match(crl.text, crlEntry(phone.serial, 'Superseded'), label);
    const refusedWatch = verifyWithCrl(home, watch.files.cert);
    assert.match(refusedWatch.stdout + refusedWatch.stderr, /certificate revoked/, `${label}: the watch, which the backup never knew, is refused`);

    // The watch has no certificate record here: list and show say it is revoked.
    const unrecorded = listed(ca, home, '--revoked').find((c) => c.serial === watch.serial)!;
    assert.deepEqual([unrecorded.name, unrecorded.subject, unrecorded.status, unrecorded.reason], [null, null, 'revoked', 'keyCompromise'], label);
    assert.match(okAt(ca, home, ['list', '--revoked']).stdout, new RegExp(`^${watch.serial}  -\\s+-\\s+revoked \\(keyCompromise\\)\\s+-\\s+\\(no record here; revoked on a CRL\\)$`, 'm'));
    const shown = okAt(ca, home, ['show', watch.serial]).stdout;
    assert.match(shown, new RegExp(`^serial\\s+${watch.serial}\\nstatus\\s+revoked at \\S+ \\(keyCompromise\\)\\nrecord\\s+revoked on a CRL of this CA that restore kept`, 'm'));
    const again = at(ca, home, ['revoke', watch.serial]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /error: serial [0-9a-f]+ is already revoked \(\S+, keyCompromise\); no certificate of it is recorded here/);
  }
  // On every later CRL.
  ca.ok(['crl']);
  ca.ok(['issue', 'new-phone']);
  ca.ok(['revoke', 'desktop']);
  assert.deepEqual(readCrl(ca.home).serials.includes(watch.serial), true, 'the watch stays on the CRL');
  assert.equal(readCrl(ca.home).serials.length, 3);
});

test('issue 16: restore --deployed-crl with a CRL of another CA, or a forged one, is exit 1 before the passphrase and writes nothing; not a CRL is exit 2', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const other = createTestCa(['--name', 'Other Root CA']);
  t.after(() => other.cleanup());
  ca.ok(['issue', 'phone']);
  const file = join(ca.dir, 'good.backup');
  ca.ok(['backup', file]);
  ca.ok(['revoke', 'phone']);
  // This CA's CRL with one byte of its signature changed.
  const forged = join(ca.dir, 'forged.der');
  assert.equal(openssl(['crl', '-in', join(ca.home, 'crl.pem'), '-outform', 'DER', '-out', forged]).code, 0);
  const bytes = readFileSync(forged);
  bytes[bytes.length - 5]! ^= 1;
  writeFileSync(forged, bytes);
  const notCrl = join(ca.dir, 'not-a-crl.pem');
  writeFileSync(notCrl, readFileSync(join(ca.home, 'ca.pem')));

  const home = snapshotDir(ca.home);
  for (const [label, deployed, code, words] of [
    ['another CA\'s CRL', join(other.home, 'crl.pem'), 1, /^error: --deployed-crl \S+ is not a CRL of the backup's CA: its signature does not verify with that CA's certificate$/m],
    ['a forged signature', forged, 1, /is not a CRL of the backup's CA/],
    ['a certificate', notCrl, 2, /^error: --deployed-crl \S+ holds no CRL \(PEM or DER\)$/m],
  ] as const) {
    for (const [where, target, force] of [['a new home', join(ca.dir, 'fresh'), []], ['over the home', ca.home, ['--force']]] as const) {
      // No passphrase given: every check of the file comes before it is asked.
      const r = pocketca(['restore', file, '--home', target, '--deployed-crl', deployed, ...force], { cwd: ca.out });
      assert.equal(r.code, code, `${label}, ${where}: ${r.stderr}`);
      assert.match(r.stderr, words, `${label}, ${where}`);
      assert.doesNotMatch(r.stderr, /passphrase/, `${label}, ${where}`);
    }
    assert.deepEqual(snapshotDir(ca.home), home, `${label}: the home is unchanged`);
    assert.throws(() => readFileSync(join(ca.dir, 'fresh', 'pocketca.db')), `${label}: no new home`);
  }
});
