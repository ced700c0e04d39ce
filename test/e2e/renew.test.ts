import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, secretFile, type TestCa } from '../helpers/cli';
import { requireTool } from '../helpers/tools';
import { mobileconfigP12, p12LeafPem, readCrl } from '../helpers/guarantees';

interface Listed {
  serial: string;
  name: string;
  status: string;
  reason: string | null;
  notBefore: string;
  notAfter: string;
}

const listAll = (ca: TestCa): Listed[] => JSON.parse(ca.ok(['list', '--all', '--json']).stdout);
const cert = (path: string) => new X509Certificate(readFileSync(path));
const days = (c: X509Certificate) => Math.round((Date.parse(c.validTo) - Date.parse(c.validFrom)) / 86_400_000);
/** Every PayloadIdentifier and PayloadUUID of a profile, in order. */
const profileIds = (xml: string) => [...xml.matchAll(/<key>Payload(?:Identifier|UUID)<\/key>\s*<string>([^<]+)<\/string>/g)].map((m) => m[1]);

test('renew a client: new key, PKCS#12 and profile with the same identifiers; the old one revoked as superseded', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const pw = secretFile(ca.dir, 'p12', 'renew-test');
  const first = JSON.parse(ca.ok(['issue', 'alice-iphone', '--email', 'alice@home.arpa', '--days', '100', '--p12-password-file', pw, '--json']).stdout);
  const oldXml = readFileSync(first.files.mobileconfig, 'utf8');
  const crlBefore = readCrl(ca.home).number;

  const r = ca.ok(['renew', 'alice-iphone', '--p12-password-file', pw, '--json']);
  const renewed = JSON.parse(r.stdout);
  assert.notEqual(renewed.serial, first.serial);
  assert.deepEqual(renewed.replaced, [{ serial: first.serial, status: 'revoked', reason: 'superseded' }]);
  assert.deepEqual(Object.keys(renewed.files).sort(), ['cert', 'mobileconfig', 'p12']);
  assert.equal(renewed.files.p12, first.files.p12, 'written over the old files of the name');

  // The files on disk are the new certificate, with a new key, the same subject, SAN and validity length.
  const now = cert(renewed.files.cert);
  const old = new X509Certificate(Buffer.from(JSON.parse(ca.ok(['show', first.serial, '--pem', '--json']).stdout).pem));
  assert.equal(now.serialNumber.toLowerCase(), renewed.serial);
  assert.equal(now.subject, old.subject);
  assert.equal(now.subjectAltName, 'email:alice@home.arpa');
  assert.equal(days(now), 100);
  assert.ok(!now.publicKey.equals(old.publicKey), 'a new key');
  assert.equal(new X509Certificate(p12LeafPem(renewed.files.p12, pw)).serialNumber, now.serialNumber, 'the .p12 holds the new certificate');
  const inner = join(ca.dir, 'inner.p12');
  writeFileSync(inner, mobileconfigP12(renewed.files.mobileconfig));
  assert.equal(new X509Certificate(p12LeafPem(inner, pw)).serialNumber, now.serialNumber, 'so does the profile');
  assert.deepEqual(profileIds(readFileSync(renewed.files.mobileconfig, 'utf8')), profileIds(oldXml), 'same stable profile identifiers: the phone replaces the old profile');
  assert.equal(statSync(renewed.files.p12).mode & 0o777, 0o600);
  assert.equal(statSync(renewed.files.mobileconfig).mode & 0o777, 0o600);
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), renewed.files.cert]).code, 0);

  // In the same run: the old one revoked as superseded, the CRL re-signed.
  const crl = readCrl(ca.home);
  assert.equal(crl.number, crlBefore + 1);
  assert.deepEqual(crl.serials, [first.serial]);
  assert.match(crl.text, /CRL Reason Code:\s+Superseded/);
  const verified = openssl(['verify', '-crl_check', '-CAfile', join(ca.home, 'ca.pem'), '-CRLfile', join(ca.home, 'crl.pem'), renewed.files.cert]);
  assert.equal(verified.code, 0, 'the new one passes the CRL');
  const rows = listAll(ca);
  assert.deepEqual(rows.map((c) => [c.serial, c.status, c.reason]), [[first.serial, 'revoked', 'superseded'], [renewed.serial, 'valid', null]]);
});

test('renew a server: SANs, validity and key size kept; --keep-old leaves the old one valid and the CRL alone', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const first = JSON.parse(ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa', '--ip', '10.0.0.5', '--ip', 'fd00::10', '--days', '90', '--key-size', '3072', '--json']).stdout);
  const crl = readFileSync(join(ca.home, 'crl.pem'));
  const renewed = JSON.parse(ca.ok(['renew', first.serial, '--keep-old', '--json']).stdout);
  assert.deepEqual(renewed.replaced, [{ serial: first.serial, status: 'valid', reason: null }]);
  assert.equal(renewed.crlNumber, undefined);
  assert.deepEqual(readFileSync(join(ca.home, 'crl.pem')), crl, 'no CRL signed');
  const now = cert(renewed.files.cert);
  assert.equal(now.subjectAltName, 'DNS:cloud.home.arpa, IP Address:10.0.0.5, IP Address:FD00:0:0:0:0:0:0:10');
  assert.equal(days(now), 90);
  assert.equal(now.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
  assert.equal(statSync(renewed.files.key).mode & 0o777, 0o600);
  assert.equal(openssl(['x509', '-in', renewed.files.cert, '-noout', '-pubkey']).stdout, openssl(['pkey', '-in', renewed.files.key, '-pubout']).stdout, 'the key file matches');
  assert.ok(readFileSync(renewed.files.fullchain, 'utf8').startsWith(readFileSync(renewed.files.cert, 'utf8')));
  assert.deepEqual(listAll(ca).map((c) => c.status), ['valid', 'valid']);

  // By name, the next renewal supersedes both valid certificates of the device.
  const again = JSON.parse(ca.ok(['renew', 'cloud', '--days', '30', '--json']).stdout);
  assert.deepEqual(again.replaced.map((x: { serial: string }) => x.serial).sort(), [first.serial, renewed.serial].sort());
  assert.equal(days(cert(again.files.cert)), 30);
  assert.deepEqual(readCrl(ca.home).serials, [first.serial, renewed.serial].sort());
  assert.deepEqual(listAll(ca).filter((c) => c.status === 'valid').map((c) => c.serial), [again.serial]);
});

test('renew a certificate made by sign: only with a new CSR from the device, for the same subject', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const csr = (file: string, cn: string) => {
    const path = join(ca.dir, file);
    assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path + '.key', '-subj', `/CN=${cn}/O=Shed`, '-out', path]).code, 0);
    return path;
  };
  const signed = JSON.parse(ca.ok(['sign', csr('first.csr', 'sensor-1'), '--json']).stdout);
  const noCsr = ca.run(['renew', 'sensor-1']);
  assert.equal(noCsr.code, 2);
  assert.match(noCsr.stderr, /^error: certificate [0-9a-f]+ \(sensor-1\) was signed from a CSR: its key never left the device$/m);
  assert.match(noCsr.stderr, new RegExp(`^hint: make a new CSR on the device, then run \`pocketca renew ${signed.serial} --csr FILE\`$`, 'm'));
  const otherSubject = ca.run(['renew', 'sensor-1', '--csr', csr('other.csr', 'sensor-2')]);
  assert.equal(otherSubject.code, 2);
  assert.match(otherSubject.stderr, /the CSR's subject "CN=sensor-2" differs from the certificate's "CN=sensor-1"/);

  const next = csr('next.csr', 'sensor-1');
  const renewed = JSON.parse(ca.ok(['renew', 'sensor-1', '--csr', next, '--json']).stdout);
  assert.equal(renewed.files.cert, join(ca.out, 'sensor-1.pem'));
  assert.equal(openssl(['x509', '-in', renewed.files.cert, '-noout', '-pubkey']).stdout, openssl(['req', '-in', next, '-noout', '-pubkey']).stdout, 'the device key');
  assert.deepEqual(renewed.replaced, [{ serial: signed.serial, status: 'revoked', reason: 'superseded' }]);
  // Still a device-held key: the next renewal needs a CSR again.
  assert.equal(ca.run(['renew', 'sensor-1']).code, 2);
  const human = ca.ok(['renew', 'sensor-1', '--csr', csr('third.csr', 'sensor-1')]);
  assert.match(human.stdout, /^renewed sensor-1: client certificate [0-9a-f]{32}$/m);
  assert.match(human.stdout, new RegExp(`^  replaces +${renewed.serial}, now revoked \\(superseded\\)$`, 'm'));
  assert.match(human.stdout, /^signed CRL number \d+: .*crl\.pem$/m);
  assert.match(human.stderr, /copy .*crl\.pem to the proxy/);
  assert.equal(JSON.parse(ca.ok(['show', renewed.serial, '--json']).stdout).source, 'sign');
});

test('renew refuses what it cannot renew: unknown, revoked; wrong passphrase is recorded and changes nothing', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const unknown = ca.run(['renew', 'nobody']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: no certificate with serial or name "nobody"$/m);
  const phone = JSON.parse(ca.ok(['issue', 'phone', '--profile', 'server', '--dns', 'p.home.arpa', '--json']).stdout);
  const before = readFileSync(phone.files.cert);
  const wrong = secretFile(ca.dir, 'wrong', 'not the passphrase');
  const refused = ca.run(['renew', 'phone', '--passphrase-file', wrong]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: wrong CA passphrase$/m);
  assert.equal(listAll(ca).length, 1, 'nothing issued');
  assert.deepEqual(readFileSync(phone.files.cert), before, 'the files are untouched');
  ca.ok(['revoke', 'phone', '--reason', 'keyCompromise']);
  const revoked = ca.run(['renew', 'phone']);
  assert.equal(revoked.code, 1);
  assert.match(revoked.stderr, /^error: "phone" is revoked: there is no certificate in use to renew$/m);
  assert.match(revoked.stderr, /^hint: issue a new one/m);
  const log = JSON.parse(ca.ok(['log', '--json']).stdout) as { command: string; outcome: string; detail: string }[];
  assert.ok(log.some((e) => e.command === 'renew' && e.outcome === 'refused' && e.detail === 'wrong CA passphrase'));
});

test('renew --keep-old says the old certificate stays valid (openssl agrees), never that it "replaces" it', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const first = JSON.parse(ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa', '--json']).stdout);
  const oldCert = join(ca.dir, 'old-cloud.pem');
  writeFileSync(oldCert, readFileSync(first.files.cert));
  const kept = ca.ok(['renew', 'cloud', '--keep-old']);
  assert.doesNotMatch(kept.stdout, /replaces/);
  assert.match(kept.stdout, new RegExp(`old one +${first.serial}, still valid \\(--keep-old\\)`));
  // A server's words: its new certificate and key go on the server (issue 20).
  assert.match(kept.stderr, new RegExp(`once the server has the new certificate and key: pocketca revoke ${first.serial} --reason superseded`));
  assert.match(kept.stderr, /^next: install the new certificate and key on the server \(cloud\.pem, cloud\.key\.pem, cloud\.fullchain\.pem\) and reload it/m);
  assert.doesNotMatch(kept.stderr, /device/);
  const verify = openssl(['verify', '-crl_check', '-CAfile', join(ca.home, 'ca.pem'), '-CRLfile', join(ca.home, 'crl.pem'), oldCert]);
  assert.equal(verify.code, 0, `the old certificate is still good: ${verify.stdout}${verify.stderr}`);
  // Without --keep-old, it does replace them.
  const replaced = ca.ok(['renew', 'cloud']);
  assert.match(replaced.stdout, new RegExp(`replaces +${first.serial}, now revoked \\(superseded\\)`));
});
