/**
 * Subjects are shown with RFC 4514 §2.4 escaping (issue 10): `+ , ; < > " \`
 * anywhere, `#` or a space first, a space last. For a one-attribute name the
 * text equals what `openssl x509 -nameopt RFC2253` prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createTestCa, openssl } from '../helpers/cli';

const rfc2253 = (pem: string) => /^subject=(.*)$/m.exec(openssl(['x509', '-in', pem, '-noout', '-subject', '-nameopt', 'RFC2253']).stdout)![1]!;

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
