/**
 * Subjects are shown with RFC 4514 §2.4 escaping (issue 10): `+ , ; < > " \`
 * anywhere, `#` or a space first, a space last. For a one-attribute name the
 * text equals what `openssl x509 -nameopt RFC2253` prints. Length limits
 * (RFC 5280 ub-common-name 64) count characters, not UTF-16 units.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createTestCa, openssl } from '../helpers/cli';

const rfc2253 = (pem: string) => /^subject=(.*)$/m.exec(openssl(['x509', '-in', pem, '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb']).stdout)![1]!;

test('issue, show, list and doctor show a subject escaped as RFC 4514, as openssl does', (t) => {
  const ca = createTestCa(['--name', '#1 Home, "Root" CA ']);
  t.after(() => ca.cleanup());
  const caSubject = rfc2253(join(ca.home, 'ca.pem'));
  assert.equal(caSubject, 'CN=\\#1 Home\\, \\"Root\\" CA\\ ');
  assert.ok(ca.ok(['doctor']).stdout.includes(caSubject), 'doctor names the CA as openssl does');

  const cn = ' a+b;c<d>e\\f ';
  const issued = JSON.parse(ca.ok(['issue', 'tricky', '--cn', cn, '--no-mobileconfig', '--json']).stdout);
  const expected = rfc2253(issued.files.cert);
  assert.equal(expected, 'CN=\\ a\\+b\\;c\\<d\\>e\\\\f\\ ');
  assert.equal(issued.subject, expected);
  assert.equal(JSON.parse(ca.ok(['show', 'tricky', '--json']).stdout).subject, expected);
  assert.ok(ca.ok(['list']).stdout.includes(expected), 'list');
});

test('init --name and issue --cn count 64 characters, not UTF-16 units: 64 emoji are allowed, 65 are not', (t) => {
  const ca = createTestCa(['--name', '🔐'.repeat(64)]);
  t.after(() => ca.cleanup());
  assert.equal(rfc2253(join(ca.home, 'ca.pem')), `CN=${'🔐'.repeat(64)}`);
  const issued = JSON.parse(ca.ok(['issue', 'emoji', '--cn', '😀'.repeat(64), '--no-mobileconfig', '--json']).stdout);
  assert.equal(rfc2253(issued.files.cert), `CN=${'😀'.repeat(64)}`);
  const long = ca.run(['issue', 'emoji2', '--cn', '😀'.repeat(65), '--no-mobileconfig']);
  assert.equal(long.code, 2);
  assert.match(long.stderr, /error: --cn .* is 65 characters long; a CN has at most 64/);
  const longName = ca.run(['init', '--name', '🔐'.repeat(65)]); // checked before the existing CA is
  assert.equal(longName.code, 2);
  assert.match(longName.stderr, /error: --name must be 1-64 characters/);
});
