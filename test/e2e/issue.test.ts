import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, secretFile, type TestCa } from '../helpers/cli';

const mode = (path: string) => statSync(path).mode & 0o777;

function p12Info(ca: TestCa, file: string, password: string) {
  const pw = secretFile(ca.dir, 'p12pw', password);
  return openssl(['pkcs12', '-info', '-in', file, '-passin', `file:${pw}`, '-nodes']);
}

test('issue client: PKCS#12 (legacy), profile and certificate that openssl accepts; recorded in the database', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const r = ca.ok(['issue', 'alice-iphone', '--email', 'alice@example.org', '--json']);
  const json = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(json).sort(), ['files', 'fingerprintSha256', 'name', 'notAfter', 'p12Password', 'profile', 'serial', 'subject']);
  assert.equal(json.profile, 'client');
  assert.match(json.p12Password, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
  assert.deepEqual(Object.keys(json.files).sort(), ['cert', 'mobileconfig', 'p12']);
  assert.equal(json.files.p12, join(ca.out, 'alice-iphone.p12'));
  assert.equal(mode(json.files.p12), 0o600);
  assert.equal(mode(json.files.mobileconfig), 0o600);
  assert.equal(mode(json.files.cert), 0o644);
  assert.equal(existsSync(join(ca.out, 'alice-iphone.key.pem')), false, 'no loose client key without --keep-key');
  // The password appears in the JSON (it was generated) and nowhere on stderr.
  assert.ok(!r.stderr.includes(json.p12Password));

  const caPem = join(ca.home, 'ca.pem');
  const v = openssl(['verify', '-CAfile', caPem, '-purpose', 'sslclient', json.files.cert]);
  assert.equal(v.code, 0, v.stderr + v.stdout);
  const text = openssl(['x509', '-in', json.files.cert, '-noout', '-text']).stdout;
  assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
  assert.match(text, /Extended Key Usage: \s*TLS Web Client Authentication\n/);
  assert.match(text, /Subject Alternative Name: \s*email:alice@example.org/);
  assert.match(text, /Subject: CN = alice-iphone/);
  assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.match(text, /Public-Key: \(2048 bit\)/);
  const x509 = new X509Certificate(readFileSync(json.files.cert));
  assert.equal(x509.serialNumber.toLowerCase(), json.serial);
  assert.equal(x509.fingerprint256, json.fingerprintSha256);
  assert.ok(BigInt('0x' + json.serial) >= 2n ** 64n, 'serial has at least 64 bits');

  const info = p12Info(ca, json.files.p12, json.p12Password);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stderr, /MAC: sha1/);
  assert.match(info.stderr, /pbeWithSHA1And3-KeyTripleDES-CBC/);
  assert.match(info.stdout, /BEGIN PRIVATE KEY/);
  assert.match(info.stdout, /friendlyName: alice-iphone/);
  assert.equal(p12Info(ca, json.files.p12, 'wrong-password').code, 1);

  // The database, read directly: the record and its DER.
  const db = new Database(join(ca.home, 'pocketca.db'), { readonly: true });
  t.after(() => db.close());
  const row = db.prepare('SELECT * FROM certificates c JOIN certificate_ders d USING (serial) WHERE serial = ?').get(json.serial) as Record<string, unknown>;
  assert.equal(row.name, 'alice-iphone');
  assert.equal(row.profile, 'client');
  assert.equal(row.fingerprint_sha256, json.fingerprintSha256);
  assert.deepEqual(row.der, x509.raw);
  assert.equal(row.not_after, new Date(x509.validTo).toISOString());
  const event = db.prepare("SELECT * FROM events WHERE command = 'issue' AND serial = ?").get(json.serial) as Record<string, unknown>;
  assert.equal(event.outcome, 'ok');
  // ...and through the CLI.
  const list = JSON.parse(ca.ok(['list', '--json']).stdout);
  assert.equal(list.length, 1);
  assert.deepEqual(Object.keys(list[0]).sort(), ['name', 'notAfter', 'notBefore', 'profile', 'reason', 'revokedAt', 'serial', 'source', 'status', 'subject']);
  assert.equal(list[0].status, 'valid');
  assert.equal(ca.ok(['show', 'alice-iphone', '--pem']).stdout, readFileSync(json.files.cert, 'utf8'));
});

test('issue --p12-format modern: AES-256 and an SHA-256 MAC; password from a file; --keep-key', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const pwFile = secretFile(ca.dir, 'chosen', 'my chosen password');
  const r = ca.ok(['issue', 'laptop', '--p12-format', 'modern', '--p12-password-file', pwFile, '--keep-key', '--no-mobileconfig', '--json']);
  const json = JSON.parse(r.stdout);
  assert.equal(json.p12Password, undefined, 'a chosen password is never echoed');
  assert.deepEqual(Object.keys(json.files).sort(), ['cert', 'key', 'p12']);
  assert.equal(mode(json.files.key), 0o600);
  const info = p12Info(ca, json.files.p12, 'my chosen password');
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stderr, /MAC: sha256/);
  assert.match(info.stderr, /PBES2, PBKDF2, AES-256-CBC/);
  // The loose key belongs to the certificate.
  const certPub = openssl(['x509', '-in', json.files.cert, '-noout', '-pubkey']).stdout;
  const keyPub = openssl(['pkey', '-in', json.files.key, '-pubout']).stdout;
  assert.equal(keyPub, certPub);
});

test('issue server: SANs required, at most 825 days, fullchain and 0600 key', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const noSan = ca.run(['issue', 'web', '--profile', 'server']);
  assert.equal(noSan.code, 2);
  assert.match(noSan.stderr, /error: a server certificate needs at least one subject alternative name/);
  assert.match(noSan.stderr, /hint: add --dns/);
  const tooLong = ca.run(['issue', 'web', '--profile', 'server', '--dns', 'web.home.arpa', '--days', '826']);
  assert.equal(tooLong.code, 2);
  assert.match(tooLong.stderr, /at most 825 days/);
  assert.deepEqual(readdirSync(ca.out), [], 'refused issues write nothing');
  assert.equal(JSON.parse(ca.ok(['list', '--all', '--json']).stdout).length, 0, 'and record nothing');

  const json = JSON.parse(ca.ok(['issue', 'web', '--profile', 'server', '--dns', 'web.home.arpa', '--ip', '192.168.1.10', '--ip', 'fd00::10', '--days', '825', '--json']).stdout);
  assert.deepEqual(Object.keys(json.files).sort(), ['cert', 'fullchain', 'key']);
  assert.equal(json.p12Password, undefined);
  assert.equal(mode(json.files.key), 0o600);
  const v = openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), '-purpose', 'sslserver', json.files.cert]);
  assert.equal(v.code, 0, v.stderr);
  const text = openssl(['x509', '-in', json.files.cert, '-noout', '-text']).stdout;
  assert.match(text, /TLS Web Server Authentication/);
  assert.match(text, /DNS:web.home.arpa, IP Address:192.168.1.10, IP Address:FD00:0:0:0:0:0:0:10/);
  const chain = readFileSync(json.files.fullchain, 'utf8');
  assert.equal(chain, readFileSync(json.files.cert, 'utf8') + readFileSync(join(ca.home, 'ca.pem'), 'utf8'));
  const x509 = new X509Certificate(readFileSync(json.files.cert));
  const days = (new Date(x509.validTo).getTime() - new Date(x509.validFrom).getTime()) / 86400e3;
  assert.ok(days <= 825, `validity ${days} days`);
});

test('issue refuses invalid names with exit 2 and writes nothing', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  for (const name of ['../x', 'a/b', '', 'x'.repeat(65), 'a b', '_lead', '.hidden', 'caf\u00e9', 'a\u0000b'.replace('\u0000', '\u0007'), 'a\\b']) {
    const r = ca.run(['issue', name]);
    assert.equal(r.code, 2, `${JSON.stringify(name)}: ${r.stderr}`);
    assert.match(r.stderr, /error: invalid name/);
  }
  assert.equal(ca.run(['issue', 'x'.repeat(64)]).code, 0);
  assert.deepEqual(readdirSync(ca.out).sort(), ['x'.repeat(64) + '.mobileconfig', 'x'.repeat(64) + '.p12', 'x'.repeat(64) + '.pem']);
  assert.deepEqual(readdirSync(ca.dir).sort(), ['home', 'out', 'passphrase']);
});

test('issue refuses to overwrite existing files without --force', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'phone']);
  const before = readFileSync(join(ca.out, 'phone.p12'));
  ca.ok(['revoke', 'phone']); // else issue points at renew (the next test)
  const again = ca.run(['issue', 'phone']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /phone\.pem already exists/);
  assert.deepEqual(readFileSync(join(ca.out, 'phone.p12')), before);
  assert.equal(JSON.parse(ca.ok(['list', '--json', '--all']).stdout).length, 1);
  ca.ok(['issue', 'phone', '--force']);
  assert.notDeepEqual(readFileSync(join(ca.out, 'phone.p12')), before);
});

test('issue NAME when NAME has a valid certificate: exit 1, hint pocketca renew NAME, nothing asked, written or recorded; --force issues another', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const first = JSON.parse(ca.ok(['issue', 'carol-iphone', '--json']).stdout);
  const other = join(ca.dir, 'other');
  mkdirSync(other);
  const events = () => JSON.parse(ca.ok(['log', '--json']).stdout).length;
  const eventsBefore = events();
  // No --passphrase-file, no POCKETCA_PASSPHRASE, no terminal: the refusal comes before the passphrase is needed.
  const r = pocketca(['issue', 'carol-iphone', '--out-dir', other, '--home', ca.home]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^error: carol-iphone already has a valid certificate: ${first.serial}, expires \\d{4}-\\d{2}-\\d{2}; nothing was issued\nhint: pocketca renew carol-iphone `));
  assert.match(r.stderr, /--force issues another/);
  assert.equal(r.stdout, '');
  assert.deepEqual(readdirSync(other), [], 'no file written');
  assert.equal(JSON.parse(ca.ok(['list', '--json', '--all']).stdout).length, 1, 'no certificate recorded');
  assert.equal(events(), eventsBefore, 'not even a refusal in the log');

  const second = JSON.parse(ca.ok(['issue', 'carol-iphone', '--out-dir', other, '--force', '--json']).stdout);
  assert.notEqual(second.serial, first.serial);
  const serial = openssl(['x509', '-in', join(other, 'carol-iphone.pem'), '-noout', '-serial']).stdout.trim().split('=')[1]!.toLowerCase();
  assert.equal(serial.replace(/^0+/, ''), second.serial.replace(/^0+/, ''), 'openssl reads the second certificate');
  assert.equal(JSON.parse(ca.ok(['list', '--json']).stdout).length, 2);

  // Only a valid certificate counts: once both are revoked, the name is free again.
  ca.ok(['revoke', 'carol-iphone', '--all']);
  const third = join(ca.dir, 'third');
  mkdirSync(third);
  ca.ok(['issue', 'carol-iphone', '--out-dir', third]);
  // renew is what the hint names, and it works.
  ca.ok(['renew', 'carol-iphone', '--out-dir', third]);
});

test('a wrong CA passphrase: exit 1, nothing written, nothing recorded but the refusal', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const wrong = secretFile(ca.dir, 'wrong', 'not the passphrase');
  const crlBefore = readFileSync(join(ca.home, 'crl.pem'));
  for (const args of [['issue', 'phone'], ['crl'], ['issue', 'web', '--profile', 'server', '--dns', 'a.b']]) {
    const r = ca.run([...args, '--passphrase-file', wrong]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim(), 'error: wrong CA passphrase');
  }
  assert.deepEqual(readdirSync(ca.out), []);
  assert.deepEqual(readFileSync(join(ca.home, 'crl.pem')), crlBefore);
  const db = new Database(join(ca.home, 'pocketca.db'), { readonly: true });
  t.after(() => db.close());
  assert.equal((db.prepare('SELECT COUNT(*) n FROM certificates').get() as { n: number }).n, 0);
  assert.equal((db.prepare('SELECT COUNT(*) n FROM crls').get() as { n: number }).n, 1);
  assert.equal((db.prepare("SELECT COUNT(*) n FROM events WHERE outcome = 'refused'").get() as { n: number }).n, 3);
});

test('four issue processes at once on one home all succeed with distinct serials', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const results = await Promise.all([1, 2, 3, 4].map((i) => ca.runAsync(['issue', `device-${i}`, '--json'])));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const serials = results.map((r) => JSON.parse(r.stdout).serial);
  assert.equal(new Set(serials).size, 4);
  const listed = JSON.parse(ca.ok(['list', '--json']).stdout).map((c: { serial: string }) => c.serial).sort();
  assert.deepEqual(listed, [...serials].sort());
  for (let i = 1; i <= 4; i++) assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), join(ca.out, `device-${i}.pem`)]).code, 0);
});
