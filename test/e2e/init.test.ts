import { test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, secretFile, tempDir, PASSPHRASE } from '../helpers/cli';
import { KEY, runInPty, screenText } from '../helpers/pty';
import { requireTool } from '../helpers/tools';

const mode = (path: string) => statSync(path).mode & 0o777;

test('init creates the home, an encrypted key openssl opens, a v3 root and CRL number 1', (t) => {
  const ca = createTestCa(['--name', 'Home Root', '--org', 'Home', '--country', 'DE']);
  t.after(() => ca.cleanup());
  assert.equal(mode(ca.home), 0o700);
  assert.equal(mode(join(ca.home, 'ca.key.pem')), 0o600);
  assert.equal(mode(join(ca.home, 'pocketca.db')), 0o600);
  for (const f of ['ca.pem', 'bundle.pem', 'crl.pem']) assert.equal(mode(join(ca.home, f)), 0o644, f);

  const keyPem = readFileSync(join(ca.home, 'ca.key.pem'), 'utf8');
  assert.match(keyPem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  const pkey = openssl(['pkey', '-in', join(ca.home, 'ca.key.pem'), '-passin', `file:${ca.passFile}`, '-noout', '-text_pub']);
  assert.equal(pkey.code, 0, pkey.stderr);
  const wrong = openssl(['pkey', '-in', join(ca.home, 'ca.key.pem'), '-passin', 'pass:not-it', '-noout']);
  assert.notEqual(wrong.code, 0);
  // The key is scrypt-protected PBES2 (asn1parse shows the KDF OID).
  assert.match(openssl(['asn1parse', '-in', join(ca.home, 'ca.key.pem')]).stdout, /OBJECT +:scrypt\n/);

  const text = openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-text']).stdout;
  assert.match(text, /Version: 3/);
  assert.match(text, /Subject: C = DE, O = Home, CN = Home Root/);
  // pathLen 1: room for one level of intermediates (SPEC "An offline root over an online issuing tier").
  assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
  assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(text, /Public-Key: \(2048 bit\)/);
  assert.match(text, /sha256WithRSAEncryption/);
  // SKI is the SHA-1 of the public key bits (RFC 5280 §4.2.1.2 (1)); AKI names it.
  const spki = openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-pubkey']).stdout;
  const spkiDer = Buffer.from(spki.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const ski = createHash('sha1').update(spkiDer.subarray(spkiDer.length - 270)).digest('hex');
  const shown = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)![1]!.replace(/:/g, '').toLowerCase();
  assert.equal(shown, ski);
  assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${/Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)![1]}`));
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), join(ca.home, 'ca.pem')]).code, 0);

  const crl = openssl(['crl', '-in', join(ca.home, 'crl.pem'), '-CAfile', join(ca.home, 'ca.pem'), '-noout', '-text']);
  assert.match(crl.stderr + crl.stdout, /verify OK/);
  assert.match(crl.stdout, /Version 2/);
  assert.match(crl.stdout, /CRL Number:\s+1\b/);
  assert.match(crl.stdout, /No Revoked Certificates/);
  assert.equal(readFileSync(join(ca.home, 'bundle.pem'), 'utf8'), readFileSync(join(ca.home, 'ca.pem'), 'utf8'));
  assert.equal(ca.ok(['bundle']).stdout, readFileSync(join(ca.home, 'ca.pem'), 'utf8'));
});

test('init --json prints subject, serial, notAfter, fingerprint and home', (t) => {
  const dir = tempDir();
  const pass = secretFile(dir, 'pass', PASSPHRASE);
  const home = join(dir, 'h');
  const r = pocketca(['init', '--home', home, '--passphrase-file', pass, '--key-size', '2048', '--days', '30', '--json']);
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(json).sort(), ['fingerprintSha256', 'home', 'notAfter', 'serial', 'subject']);
  const x509 = new X509Certificate(readFileSync(join(home, 'ca.pem')));
  assert.equal(json.fingerprintSha256, x509.fingerprint256);
  assert.equal(json.serial, x509.serialNumber.toLowerCase());
  assert.equal(json.subject, 'CN=pocketca Root CA');
  assert.equal(json.home, home);
  assert.ok(Math.abs(new Date(json.notAfter).getTime() - Date.now() - 30 * 86400e3) < 10 * 60e3);
  // A serial is positive with at least 64 bits of entropy.
  assert.ok(json.serial.length >= 16);
});

test('a second init exits 1 and touches nothing', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const before = Object.fromEntries(readdirSync(ca.home).map((f) => [f, readFileSync(join(ca.home, f)).toString('base64')]));
  const r = ca.run(['init', '--key-size', '2048']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: a CA already exists in /m);
  const after = Object.fromEntries(readdirSync(ca.home).map((f) => [f, readFileSync(join(ca.home, f)).toString('base64')]));
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
  for (const f of ['ca.key.pem', 'ca.pem', 'crl.pem', 'bundle.pem']) assert.equal(after[f], before[f], f);
});

test('no passphrase and no terminal: exit 2 with a hint, nothing created, no hang', (t) => {
  const dir = tempDir();
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  const home = join(dir, 'h');
  const r = pocketca(['init', '--home', home], { timeoutMs: 20_000 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: no CA passphrase given/);
  assert.match(r.stderr, /hint: .*--passphrase-file.*POCKETCA_PASSPHRASE/);
  assert.equal(existsSync(join(home, 'ca.key.pem')), false);
});

test('the passphrase can come from POCKETCA_PASSPHRASE; a short one is refused', (t) => {
  const dir = tempDir();
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  const short = pocketca(['init', '--home', join(dir, 'a'), '--key-size', '2048'], { env: { POCKETCA_PASSPHRASE: 'short' } });
  assert.equal(short.code, 2);
  assert.match(short.stderr, /at least 8 characters/);
  const ok = pocketca(['init', '--home', join(dir, 'b'), '--key-size', '2048'], { env: { POCKETCA_PASSPHRASE: PASSPHRASE } });
  assert.equal(ok.code, 0, ok.stderr);
  writeFileSync(join(dir, 'p'), PASSPHRASE);
  assert.equal(openssl(['pkey', '-in', join(dir, 'b', 'ca.key.pem'), '-passin', `file:${join(dir, 'p')}`, '-noout']).code, 0);
});

test('init rejects bad options with exit 2', (t) => {
  const dir = tempDir();
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  const pass = secretFile(dir, 'pass', PASSPHRASE);
  for (const args of [['--key-size', '1024'], ['--country', 'Germany'], ['--days', '0'], ['--crl-days', 'x'], ['--bogus']]) {
    const r = pocketca(['init', '--home', join(dir, 'h'), '--passphrase-file', pass, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /error: /);
    assert.equal(existsSync(join(dir, 'h', 'ca.pem')), false);
  }
});

test('init at a terminal: asks the passphrase twice, says it is creating only after that, and the key opens with what was typed', async (t) => {
  if (!requireTool(t, 'script')) return;
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  const s = runInPty(['init', '--home', home, '--key-size', '2048']);
  t.after(() => s.kill());
  await s.waitFor(/New CA passphrase \(at least 8 characters\):/, 30_000);
  assert.doesNotMatch(screenText(s.output()), /creating a CA/, 'nothing is being created while the user types');
  s.type(`typed at the terminal${KEY.enter}`);
  const after = s.mark();
  await s.waitFor(/Repeat the CA passphrase:/, 30_000, after);
  s.type(`typed at the terminal${KEY.enter}`);
  await s.waitFor(/created CA "CN=pocketca Root CA"/, 60_000);
  assert.equal(await s.exited, 0, screenText(s.output()));
  const screen = screenText(s.output());
  assert.ok(screen.indexOf('creating a CA') > screen.lastIndexOf('Repeat the CA passphrase:'), screen);
  assert.ok(!screen.includes('typed at the terminal'), 'the passphrase is not echoed');
  const pass = secretFile(dir, 'pass', 'typed at the terminal');
  assert.equal(openssl(['pkey', '-in', join(home, 'ca.key.pem'), '-passin', `file:${pass}`, '-noout']).code, 0);
});

test('the passphrase file may be a pipe, as from --passphrase-file <(pass show ca): it is read once, by the command', async (t) => {
  if (!requireTool(t, 'mkfifo')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const fifo = join(ca.dir, 'passphrase.fifo');
  assert.equal(spawnSync('mkfifo', ['-m', '600', fifo]).status, 0);
  // The writer blocks until a reader opens the pipe, writes once and is gone, as a shell's <(...) is.
  const writer = spawn('sh', ['-c', 'printf "%s\\n" "$PASS" > "$FIFO"'], { env: { ...process.env, PASS: PASSPHRASE, FIFO: fifo }, stdio: 'ignore' });
  t.after(() => writer.kill('SIGKILL'));
  const r = await ca.runAsync(['crl', '--passphrase-file', fifo, '--json'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `a second read of the pipe would wait forever for a writer: ${r.stderr}`);
  assert.equal((JSON.parse(r.stdout) as { number: number }).number, 2);
});

test("init refuses an existing home that someone else can change: another user's directory, or one writable by group or others", (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pass = secretFile(dir, 'pass', PASSPHRASE);
  const refused = (home: string, why: RegExp) => {
    const r = pocketca(['init', '--key-size', '2048', '--home', home, '--passphrase-file', pass]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
    assert.deepEqual(readdirSync(home).filter((f) => f !== 'notes.txt'), [], 'nothing written');
  };
  // A directory that already holds other files keeps its mode: world-writable, anyone could swap ca.pem or the database.
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  writeFileSync(join(shared, 'notes.txt'), 'x');
  refused(shared, /error: .*shared is writable by (group|others)/);
  // Run as root into a directory of another user (nobody here): its owner can replace every file of the CA.
  if (process.getuid?.() === 0) {
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    refused(theirs, /error: .*theirs is owned by uid 65534/);
  } else t.diagnostic('the other-owner case needs root');
});
