/**
 * `-q` is "only results and errors" (issue 10): it drops progress, hints and
 * next steps, never a result, and never a secret shown only once. Each
 * command is run twice, with and without -q; the generated PKCS#12 password
 * that -q prints alone is checked by opening the PKCS#12 with openssl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, secretFile, type TestCa } from '../helpers/cli';

/** What a generated PKCS#12 password looks like (SPEC "Secrets"), alone on its line. */
const PASSWORD_LINE = /^([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})\n$/;

function opensWith(ca: TestCa, p12: string, password: string): boolean {
  const file = secretFile(ca.dir, `pw-${Math.random().toString(36).slice(2)}`, password);
  return openssl(['pkcs12', '-in', p12, '-passin', `file:${file}`, '-nokeys', '-noout']).code === 0;
}

test('issue -q and renew -q print the generated PKCS#12 password alone on stdout; it opens the .p12 (openssl)', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const issued = ca.ok(['issue', 'ivy-iphone', '-q']);
  const [, password] = PASSWORD_LINE.exec(issued.stdout) ?? [];
  assert.ok(password, `stdout is the password and a newline, nothing else: ${JSON.stringify(issued.stdout)}`);
  assert.equal(issued.stderr, '', 'no progress, no next steps');
  assert.ok(opensWith(ca, join(ca.out, 'ivy-iphone.p12'), password!), 'the printed password opens the PKCS#12');

  const renewed = ca.ok(['renew', 'ivy-iphone', '--quiet']);
  const [, again] = PASSWORD_LINE.exec(renewed.stdout) ?? [];
  assert.ok(again, `renew -q: the new password alone: ${JSON.stringify(renewed.stdout)}`);
  assert.notEqual(again, password);
  assert.equal(renewed.stderr, '');
  assert.ok(opensWith(ca, join(ca.out, 'ivy-iphone.p12'), again!), "the renewed PKCS#12 opens with renew's password");
  assert.ok(!opensWith(ca, join(ca.out, 'ivy-iphone.p12'), password!));
});

test('issue -q prints nothing when no password was generated: chosen in a file, or a server', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const chosen = secretFile(ca.dir, 'p12pw', 'chosen by the user');
  const fromFile = ca.ok(['issue', 'jo-laptop', '-q', '--p12-password-file', chosen]);
  assert.equal(fromFile.stdout, '', 'the user knows that password');
  assert.ok(opensWith(ca, join(ca.out, 'jo-laptop.p12'), 'chosen by the user'));
  const server = ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa', '-q']);
  assert.equal(server.stdout, '');
  assert.equal(server.stderr, '');
});

test('list, show, log and doctor print their results with -q, exactly as without it', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'ivy-iphone']);
  for (const args of [['list'], ['list', '--all'], ['show', 'ivy-iphone'], ['show', 'ivy-iphone', '--pem'], ['log'], ['doctor'], ['bundle']]) {
    const plain = ca.ok(args);
    const quiet = ca.ok([...args, '-q']);
    assert.ok(quiet.stdout.length > 0, `${args.join(' ')} -q prints its result`);
    assert.equal(quiet.stdout, plain.stdout, `${args.join(' ')}: the same result with -q`);
  }
  // What is printed on stdout by nature stays: a certificate from sign, a proxy config, a QR code.
  const csr = join(ca.dir, 'dev.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(ca.dir, 'dev.key'), '-subj', '/CN=sensor-1', '-out', csr]).code, 0);
  const signed = ca.ok(['sign', csr, '-q']);
  assert.match(signed.stdout, /^-----BEGIN CERTIFICATE-----\n/);
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem')], { input: signed.stdout }).code, 0, 'openssl verifies the certificate sign -q printed');
  ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa', '-q']);
  const proxy = ['proxy', 'nginx', '--upstream', 'http://127.0.0.1:8080', '--cert', 'cloud.pem', '--key', 'cloud.key.pem'];
  assert.equal(ca.ok([...proxy, '-q']).stdout, ca.ok(proxy).stdout);
  assert.match(ca.ok([...proxy, '-q']).stdout, /server_name cloud\.home\.arpa;/);
  assert.equal(ca.ok(['qr', 'https://cloud.home.arpa/', '-q']).stdout, ca.ok(['qr', 'https://cloud.home.arpa/']).stdout);
  assert.match(ca.ok(['list', '-q']).stdout, /^SERIAL +NAME/);
  assert.match(ca.ok(['show', 'ivy-iphone', '-q']).stdout, /^serial +[0-9a-f]+\nname +ivy-iphone\n/);
  assert.match(ca.ok(['doctor', '-q']).stdout, /^ok +crl /);
});

test('the commands that only do something are silent with -q, and say what they did without it', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'a', '-q']);
  ca.ok(['issue', 'b', '-q']);
  const cases = [
    { args: ['crl'], said: /signed CRL number/ },
    { args: ['revoke', 'a'], said: /revoked [0-9a-f]+ \([ab]\)/ },
    { args: ['backup', join(ca.dir, 'q.backup')], said: /wrote a backup/ },
  ];
  const init = pocketca(['init', '--home', join(ca.dir, 'second-home'), '--key-size', '2048', '--passphrase-file', ca.passFile, '-q']);
  for (const [what, quiet] of [['init', init], ...cases.map(({ args }) => [args[0]!, ca.ok([...args, '-q'])] as const)] as const) {
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, '', `${what} -q: nothing on stdout`);
    assert.equal(quiet.stderr, '', `${what} -q: no hints on stderr`);
  }
  assert.match(ca.ok(['crl']).stdout, cases[0]!.said);
  assert.match(ca.ok(['revoke', 'b']).stdout, cases[1]!.said);
  assert.match(ca.ok(['backup', join(ca.dir, 'loud.backup')]).stdout, cases[2]!.said);
});
