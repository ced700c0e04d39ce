/**
 * Issue 20, SPEC "Everyday use, second pass": every check that needs no key
 * runs before the CA passphrase is asked, and a usage error is reported as
 * itself (exit 2), never as "no passphrase". Each command below runs in a
 * script's conditions (no terminal, no --passphrase-file, no
 * POCKETCA_PASSPHRASE) and must name the real mistake; then again with a
 * wrong POCKETCA_PASSPHRASE, which bin/pocketca starts to unlock before the
 * command is even parsed (src/cli/head-start.ts prefetchCaKey): the usage error
 * still wins, and nothing is recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca } from '../helpers/cli';

interface Case {
  label: string;
  args: string[];
  code: number;
  words: RegExp;
}

test('usage errors are told as themselves, before any passphrase (none given; then a wrong one)', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  const constrained = createTestCa(['--permit-dns', 'home.arpa']);
  t.after(() => constrained.cleanup());
  const csr = join(ca.dir, 'dev.csr');
  const made = openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(ca.dir, 'dev.key'), '-subj', '/CN=sensor-1', '-out', csr]);
  assert.equal(made.code, 0, made.stderr);
  const batch = join(ca.dir, 'servers.txt');
  writeFileSync(batch, 'web-1\nweb-2\n');

  const home = ['--home', ca.home];
  const cases: Case[] = [
    { label: 'issue --profile server without a SAN', args: ['issue', 'cloud', '--profile', 'server', ...home], code: 2, words: /^error: a server certificate needs at least one subject alternative name\nhint: add --dns NAME/ },
    { label: 'issue --profile server --days past 825', args: ['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa', '--days', '900', ...home], code: 2, words: /^error: a server certificate may be valid for at most 825 days/ },
    { label: 'issue --days past the CA', args: ['issue', 'bob-pixel', '--days', '9000', ...home], code: 2, words: /^error: the certificate would outlive the CA/ },
    { label: 'issue --batch of servers without a SAN', args: ['issue', '--batch', batch, '--profile', 'server', ...home], code: 2, words: /^error: a server certificate needs at least one subject alternative name/ },
    { label: 'issue outside the name constraints', args: ['issue', 'evil', '--profile', 'server', '--dns', 'evil.example', '--home', constrained.home], code: 2, words: /^error: SAN DNS:evil\.example is outside the CA's name constraints/ },
    { label: 'sign --days past the CA', args: ['sign', csr, '--days', '9000', ...home], code: 2, words: /^error: the certificate would outlive the CA/ },
    { label: 'sign --profile server --days past 825', args: ['sign', csr, '--profile', 'server', '--dns', 'sensor-1.home.arpa', '--days', '900', ...home], code: 2, words: /at most 825 days/ },
    { label: 'sign --profile intermediate --days past the CA', args: ['sign', csr, '--profile', 'intermediate', '--days', '9000', ...home], code: 2, words: /^error: the certificate would outlive the CA/ },
    { label: 'sign outside the name constraints', args: ['sign', csr, '--profile', 'server', '--dns', 'evil.example', '--home', constrained.home], code: 2, words: /outside the CA's name constraints/ },
    { label: 'renew --days past the CA', args: ['renew', 'alice-iphone', '--days', '9000', '--out-dir', ca.dir, ...home], code: 2, words: /^error: the certificate would outlive the CA/ },
    { label: 'scep --bind that is no address', args: ['scep', 'carol-iphone', '--bind', 'my-laptop', ...home], code: 2, words: /^error: --bind needs an IP address/ },
    { label: 'a passphrase file that is not there', args: ['crl', '--passphrase-file', join(ca.dir, 'no-such-file'), ...home], code: 2, words: /^error: cannot read passphrase file \S+no-such-file: no such file$/m },
  ];
  const recorded = () => JSON.parse(ca.ok(['list', '--all', '--json']).stdout).length;
  const before = recorded();
  for (const env of [{}, { POCKETCA_PASSPHRASE: 'not the passphrase' }]) {
    for (const c of cases) {
      const r = pocketca(c.args, { env, cwd: ca.out });
      const what = `${c.label}${Object.keys(env).length ? ' (wrong passphrase in the environment)' : ''}`;
      assert.equal(r.code, c.code, `${what}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, c.words, what);
      assert.doesNotMatch(r.stderr, /no CA passphrase|wrong CA passphrase/, what);
    }
  }
  assert.equal(recorded(), before, 'nothing issued or recorded');
});

test('backup reports a stale crl.pem before it asks for the passphrase', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  writeFileSync(join(ca.home, 'crl.pem'), 'not the CRL\n');
  const r = pocketca(['backup', join(ca.dir, 'ca.backup'), '--home', ca.home]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: \S+crl\.pem is not the latest CRL the database records\nhint: run `pocketca crl`/);
});
