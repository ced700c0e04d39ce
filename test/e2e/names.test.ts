/**
 * Issue 20: where a command takes SERIAL|NAME (revoke, renew, show). A serial
 * is taken with colons or not, in any case, or as a prefix of at least 8 hex
 * digits that only one certificate has (an ambiguous one is exit 2 listing
 * them), and a file name of a recorded name gets a did-you-mean. (The shell
 * completions of the names: completion.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createTestCa, type TestCa } from '../helpers/cli';

interface Listed {
  serial: string;
  name: string;
  status: string;
}

const listAll = (ca: TestCa): Listed[] => JSON.parse(ca.ok(['list', '--all', '--json']).stdout);

/** Two more records whose serials share their first 8 hex digits (copies of `name`'s row with chosen serials). */
function twins(ca: TestCa, name: string, prefix: string): string[] {
  const serials = [`${prefix}11${'0'.repeat(22)}`, `${prefix}22${'0'.repeat(22)}`];
  const db = new Database(join(ca.home, 'pocketca.db'));
  try {
    const from = listAll(ca).find((c) => c.name === name)!.serial;
    for (const serial of serials) {
      db.prepare(
        `INSERT INTO certificates (serial, name, profile, source, subject, not_before, not_after, fingerprint_sha256, issued_at)
         SELECT ?, name || '-twin', profile, source, subject, not_before, not_after, ?, issued_at FROM certificates WHERE serial = ?`,
      ).run(serial, `twin-${serial}`, from);
      db.prepare('INSERT INTO certificate_ders (serial, der) SELECT ?, der FROM certificate_ders WHERE serial = ?').run(serial, from);
    }
  } finally {
    db.close();
  }
  return serials;
}

test('SERIAL: colons or not, any case, a unique prefix of 8+ hex digits (also as a table shortened it); an ambiguous prefix is exit 2 listing them', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'carol-iphone']);
  ca.ok(['issue', 'dave-pixel']);
  const carol = listAll(ca).find((c) => c.name === 'carol-iphone')!.serial;
  const shown = (ref: string) => {
    const r = ca.run(['show', ref, '--json']);
    assert.equal(r.code, 0, `show ${ref}: ${r.stderr}`);
    return (JSON.parse(r.stdout) as Listed).serial;
  };
  const colons = (hex: string) => hex.toUpperCase().match(/../g)!.join(':');
  assert.equal(shown(colons(carol)), carol, 'the whole serial as openssl prints it');
  assert.equal(shown(colons(carol.slice(0, 8))), carol, 'the first four octets, as 4d:28:1a:71');
  assert.equal(shown(carol.slice(0, 12).toUpperCase()), carol, 'a prefix in capitals');
  assert.equal(shown(`${carol.slice(0, 12)}…`), carol, 'a serial as list shortens it at a terminal');

  const short = ca.run(['show', carol.slice(0, 6)]);
  assert.equal(short.code, 1);
  assert.match(short.stderr, /^hint: a serial needs at least 8 of its hex digits here/m);

  const [a, b] = twins(ca, 'dave-pixel', 'abcdef01');
  const ambiguous = ca.run(['show', 'ab:cd:ef:01']);
  assert.equal(ambiguous.code, 2, ambiguous.stderr);
  assert.match(ambiguous.stderr, new RegExp(`^error: "ab:cd:ef:01" is the start of 2 serials: ${a} \\(dave-pixel-twin, expires [\\d-]+\\); ${b} \\(dave-pixel-twin, expires [\\d-]+\\)\\nhint: type more digits of the serial`));
  assert.equal(shown('abcdef0122'), b, 'one more digit tells them apart');

  // revoke and renew resolve the same way.
  const revoked = ca.run(['revoke', colons(carol.slice(0, 8)), '--json']);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(listAll(ca).find((c) => c.serial === carol)!.status, 'revoked');
  const renew = ca.run(['renew', 'abcdef01', '--out-dir', ca.dir]);
  assert.equal(renew.code, 2, renew.stderr);
  assert.match(renew.stderr, /is the start of 2 serials/);
});

test('show carol-iphone.p12: a file of a recorded name gets a did-you-mean', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'carol-iphone']);
  for (const typed of ['carol-iphone.p12', join(ca.out, 'carol-iphone.mobileconfig'), 'carol-iphone.pem']) {
    const r = ca.run(['show', typed]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^hint: did you mean carol-iphone\? \(carol-iphone\.\w+ is one of its files; pocketca takes the name\)$/m, typed);
  }
  const revoke = ca.run(['revoke', 'carol-iphne.p12']);
  assert.match(revoke.stderr, /^hint: did you mean carol-iphone\?/m, 'a mistyped file name too');
});
