import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, type TestCa } from '../helpers/cli';
import { opensslCa } from '../helpers/online-ca';

function crlText(ca: TestCa): string {
  const r = openssl(['crl', '-in', join(ca.home, 'crl.pem'), '-CAfile', join(ca.home, 'ca.pem'), '-noout', '-text']);
  // OpenSSL 3.0 exits 0 even when the signature is bad: the words are what count.
  assert.match(r.stderr + r.stdout, /verify OK/);
  return r.stdout;
}

const crlNumber = (text: string) => Number(/CRL Number:\s+(\d+)/.exec(text)![1]);

test('revoke: the CRL is re-signed in the same run, and openssl -crl_check refuses the certificate', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const alice = JSON.parse(ca.ok(['issue', 'alice', '--json']).stdout);
  const bob = JSON.parse(ca.ok(['issue', 'bob', '--json']).stdout);
  const verify = (cert: string) =>
    openssl(['verify', '-crl_check', '-CAfile', join(ca.home, 'ca.pem'), '-CRLfile', join(ca.home, 'crl.pem'), cert]);
  assert.equal(verify(alice.files.cert).code, 0);

  const r = ca.ok(['revoke', 'alice', '--reason', 'keyCompromise']);
  assert.match(r.stdout, new RegExp(`revoked ${alice.serial} \\(alice\\), reason keyCompromise`));
  assert.match(r.stderr, /copy .*crl\.pem to the proxy and reload it/);
  const refused = verify(alice.files.cert);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout + refused.stderr, /certificate revoked/);
  assert.equal(verify(bob.files.cert).code, 0, 'the others stay valid');

  const text = crlText(ca);
  assert.equal(crlNumber(text), 2);
  assert.match(text, new RegExp(`Serial Number: ${alice.serial.toUpperCase()}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
  assert.match(text, /Authority Key Identifier/);

  // Revoked by serial in openssl's notation, with reason unspecified: no reasonCode entry extension.
  const colons = bob.serial.toUpperCase().match(/../g).join(':');
  ca.ok(['revoke', colons]);
  const text2 = crlText(ca);
  assert.equal(crlNumber(text2), 3);
  const bobEntry = new RegExp(`Serial Number: ${bob.serial.toUpperCase()}\\s+Revocation Date: [^\\n]+\\n(?!\\s+CRL entry extensions)`);
  assert.match(text2, bobEntry);

  const revoked = JSON.parse(ca.ok(['list', '--revoked', '--json']).stdout);
  assert.deepEqual(revoked.map((c: { name: string }) => c.name).sort(), ['alice', 'bob']);
  assert.equal(revoked.find((c: { name: string }) => c.name === 'alice').reason, 'keyCompromise');
  assert.equal(JSON.parse(ca.ok(['list', '--json']).stdout).length, 0);
});

test('revoke twice or an unknown serial: exit 1, nothing changed', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'phone']);
  ca.ok(['revoke', 'phone']);
  const crl = readFileSync(join(ca.home, 'crl.pem'));
  const again = ca.run(['revoke', 'phone']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /error: certificate [0-9a-f]+ \(phone\) is already revoked/);
  assert.deepEqual(readFileSync(join(ca.home, 'crl.pem')), crl);
  const unknown = ca.run(['revoke', 'deadbeef']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /error: no certificate with serial or name "deadbeef"/);
  assert.match(unknown.stderr, /hint: see `pocketca list --all`/);
  assert.deepEqual(readFileSync(join(ca.home, 'crl.pem')), crl);
  const badReason = ca.run(['revoke', 'phone', '--reason', 'because']);
  assert.equal(badReason.code, 2);
});

test('a NAME that matches several valid certificates needs --all', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const first = JSON.parse(ca.ok(['issue', 'tablet', '--json']).stdout);
  const second = JSON.parse(ca.ok(['issue', 'tablet', '--force', '--json']).stdout);
  const r = ca.run(['revoke', 'tablet']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`matches 2 valid certificates: .*${first.serial}.*${second.serial}`));
  assert.match(r.stderr, /hint: .*--all/);
  assert.equal(crlNumber(crlText(ca)), 1);
  ca.ok(['revoke', 'tablet', '--all']);
  const text = crlText(ca);
  assert.equal(crlNumber(text), 2);
  for (const s of [first.serial, second.serial]) assert.match(text, new RegExp(s.toUpperCase()));
});

test('crl: numbers increase, --days sets nextUpdate, --out --der writes a DER copy', (t) => {
  const ca = createTestCa(['--crl-days', '30']);
  t.after(() => ca.cleanup());
  const first = JSON.parse(ca.ok(['crl', '--json']).stdout);
  assert.equal(first.number, 2);
  // thisUpdate is backdated 5 minutes (issue 10); nextUpdate is --days from now.
  assert.ok(Math.abs(new Date(first.nextUpdate).getTime() - new Date(first.thisUpdate).getTime() - 30 * 86400e3 - 300e3) < 2000);
  const out = join(ca.dir, 'copy.crl');
  const second = JSON.parse(ca.ok(['crl', '--days', '7', '--out', out, '--der', '--json']).stdout);
  assert.equal(second.number, 3);
  assert.ok(Math.abs(new Date(second.nextUpdate).getTime() - Date.now() - 7 * 86400e3) < 60_000);
  const der = openssl(['crl', '-inform', 'DER', '-in', out, '-CAfile', join(ca.home, 'ca.pem'), '-noout', '-crlnumber']);
  assert.match(der.stderr + der.stdout, /verify OK/);
  assert.match(der.stdout, /crlNumber=0x03|crlNumber=03|crlNumber=3/);
  assert.equal(crlNumber(crlText(ca)), 3);
});

/** openssl's reading of a CRL's or certificate's time field, e.g. "Last Update: Dec  2 01:20:00 2026 GMT". */
const timeField = (text: string, field: string) => new Date(new RegExp(`${field}\\s*[:=]\\s*(\\w{3} +\\d+ [\\d:]+ \\d{4} GMT)`).exec(text)![1]!);

test('crl: thisUpdate is backdated like a certificate, and nextUpdate never passes the CA\'s notAfter (issue 10)', (t) => {
  const ca = createTestCa(['--days', '2']);
  t.after(() => ca.cleanup());
  const before = Date.now();
  ca.ok(['crl', '--days', '30']);
  const text = crlText(ca);
  const lastUpdate = timeField(text, 'Last Update');
  // A proxy whose clock is 4 minutes slow still finds the CRL valid.
  assert.ok(lastUpdate.getTime() <= before - 4 * 60e3 && lastUpdate.getTime() >= before - 6 * 60e3, `Last Update ${lastUpdate.toISOString()}`);
  const slowClock = openssl(['verify', '-crl_check', '-attime', String(Math.floor((before - 4 * 60e3) / 1000)), '-CAfile', join(ca.home, 'ca.pem'), '-CRLfile', join(ca.home, 'crl.pem'), join(ca.home, 'ca.pem')]);
  assert.equal(slowClock.code, 0, slowClock.stdout + slowClock.stderr);
  const caText = openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-enddate']).stdout;
  const caNotAfter = timeField(caText, 'notAfter');
  assert.equal(timeField(text, 'Next Update').toISOString(), caNotAfter.toISOString(), 'capped at the CA certificate\'s notAfter, not 30 days');
});

test('revoke --reason in any case records the canonical name; the CRL carries it (openssl)', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const lost = JSON.parse(ca.ok(['issue', 'lost-phone', '--json']).stdout);
  const r = ca.ok(['revoke', 'lost-phone', '--reason', 'keycompromise']);
  assert.match(r.stdout, /reason keyCompromise/);
  assert.equal(JSON.parse(ca.ok(['show', 'lost-phone', '--json']).stdout).reason, 'keyCompromise');
  assert.match(crlText(ca), new RegExp(`Serial Number: ${lost.serial.toUpperCase()}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
  ca.ok(['issue', 'old-tablet']);
  ca.ok(['revoke', 'old-tablet', '--reason', 'CESSATIONOFOPERATION']);
  assert.match(crlText(ca), /Cessation Of Operation/);
  const bad = ca.run(['revoke', 'x', '--reason', 'lost']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--reason must be one of: unspecified, keyCompromise/);
});

test('a mistyped device name: revoke, show and renew suggest the recorded name nearest to it', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone', '-q']);
  ca.ok(['issue', 'bob-pixel', '-q']);
  for (const [args, typo] of [
    [['revoke'], 'alice-iphnoe'],
    [['show'], 'Alice-iPhone'],
    [['renew'], 'alice-iphon'],
  ] as const) {
    const r = ca.run([...args, typo]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: no certificate with serial or name "${typo}"\\nhint: did you mean alice-iphone\\?`, 'm'), r.stderr);
  }
  const far = ca.run(['revoke', 'carol-laptop']);
  assert.equal(far.code, 1);
  assert.match(far.stderr, /hint: see `pocketca list --all`/, 'nothing near: the list');
  assert.doesNotMatch(far.stderr, /did you mean/);
  assert.match(ca.run(['show', 'bob-pixle']).stderr, /did you mean bob-pixel\?/);
  assert.equal(JSON.parse(ca.ok(['list', '--json']).stdout).length, 2, 'nothing was revoked or renewed');
});

test('issue 16: --reason cACompromise revokes an intermediate, privilegeWithdrawn a device; openssl reads both codes; cACompromise on a leaf is exit 2 with a hint that works', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const online = opensslCa(ca.dir);
  const inter = JSON.parse(ca.ok(['sign', online.csr, '--profile', 'intermediate', '--name', 'online-ca', '--json']).stdout);
  const phone = JSON.parse(ca.ok(['issue', 'phone', '--json']).stdout);
  const tablet = JSON.parse(ca.ok(['issue', 'tablet', '--json']).stdout);

  // RFC 5280 §5.3.1 takes CRLReason from X.509: cACompromise is for a CA certificate, keyCompromise for an end entity.
  const leaf = ca.run(['revoke', 'phone', '--reason', 'cACompromise']);
  assert.equal(leaf.code, 2, leaf.stderr);
  assert.match(leaf.stderr, /^error: --reason cACompromise is for an intermediate \(a CA certificate\); phone \([0-9a-f]+\) is a client certificate$/m);
  const hint = /^hint: for a leaked key use: (pocketca revoke [0-9a-f]+ --reason keyCompromise)$/m.exec(leaf.stderr);
  assert.ok(hint, leaf.stderr);
  assert.equal(crlNumber(crlText(ca)), 1, 'nothing signed');
  // The hint is a command that works.
  const args = hint[1]!.split(' ').slice(1);
  assert.match(ca.ok(args).stdout, new RegExp(`revoked ${phone.serial} \\(phone\\), reason keyCompromise`));

  ca.ok(['revoke', 'online-ca', '--reason', 'cACompromise']);
  ca.ok(['revoke', 'tablet', '--reason', 'privilegeWithdrawn']);
  const text = crlText(ca);
  const entry = (serial: string, words: string) => new RegExp(`Serial Number: ${serial.toUpperCase()}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+${words}\\n`);
  assert.match(text, entry(inter.serial, 'CA Compromise'));
  assert.match(text, entry(tablet.serial, 'Privilege Withdrawn'));
  assert.match(text, entry(phone.serial, 'Key Compromise'));
  const reasons = Object.fromEntries((JSON.parse(ca.ok(['list', '--revoked', '--json']).stdout) as { name: string; reason: string }[]).map((c) => [c.name, c.reason]));
  assert.deepEqual(reasons, { 'online-ca': 'cACompromise', phone: 'keyCompromise', tablet: 'privilegeWithdrawn' });
});
