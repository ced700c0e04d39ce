/**
 * `-q` is "only results and errors" (issue 10): it drops progress, hints and
 * next steps, never a result, and never a secret shown only once. Each
 * command is run twice, with and without -q; the generated PKCS#12 password
 * that -q prints alone is checked by opening the PKCS#12 with openssl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createTestCa, openssl, secretFile, type TestCa } from '../helpers/cli';

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
  for (const { args, said } of cases) {
    const quiet = ca.ok([...args, '-q']);
    assert.equal(quiet.stdout, '', `${args[0]} -q: nothing on stdout`);
    assert.equal(quiet.stderr, '', `${args[0]} -q: no hints on stderr`);
  }
  assert.match(ca.ok(['crl']).stdout, cases[0]!.said);
  assert.match(ca.ok(['revoke', 'b']).stdout, cases[1]!.said);
  assert.match(ca.ok(['backup', join(ca.dir, 'loud.backup')]).stdout, cases[2]!.said);
});
