import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, pocketca, ROOT, tempDir } from '../helpers/cli';

test('--version, --help and command help exit 0; unknown commands and flags exit 2', () => {
  const version = pocketca(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), require(join(ROOT, 'package.json')).version);
  const help = pocketca(['--help']);
  assert.equal(help.code, 0);
  for (const c of ['init', 'issue', 'sign', 'revoke', 'crl', 'bundle', 'list', 'show']) assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`));
  const issueHelp = pocketca(['issue', '--help']);
  assert.equal(issueHelp.code, 0);
  assert.match(issueHelp.stdout, /Examples:/);
  assert.match(issueHelp.stdout, /Exit codes:/);
  assert.match(issueHelp.stdout, /--home <dir>/, 'global options are shown');
  assert.doesNotMatch(issueHelp.stdout, /--p12-password </, 'no secret on argv');
  assert.equal(pocketca(['frobnicate']).code, 2);
  assert.equal(pocketca(['list', '--frobnicate']).code, 2);
  assert.equal(pocketca(['issue']).code, 2, 'missing argument');
});

test('no CA in the home: exit 1 with a hint to init', (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const args of [['list'], ['show', 'x'], ['bundle']]) {
    const r = pocketca([...args, '--home', join(dir, 'none')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: no CA in /);
    assert.match(r.stderr, /hint: create one with `pocketca init/);
  }
  // POCKETCA_HOME is honoured.
  const viaEnv = pocketca(['list'], { env: { POCKETCA_HOME: join(dir, 'env-home') } });
  assert.match(viaEnv.stderr, new RegExp(`no CA in ${join(dir, 'env-home')}`));
});

test('a missing or corrupt database: exit 1 with a clear error, no stack trace', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'phone']);
  const db = join(ca.home, 'pocketca.db');
  rmSync(db + '-wal', { force: true });
  rmSync(db + '-shm', { force: true });
  writeFileSync(db, Buffer.alloc(8192, 0x5a));
  const corrupt = ca.run(['list']);
  assert.equal(corrupt.code, 1);
  assert.match(corrupt.stderr, /error: database .* is corrupt or not a pocketca database/);
  assert.match(corrupt.stderr, /hint: restore it/);
  assert.doesNotMatch(corrupt.stderr, /\n\s+at /);
  truncateSync(db, 0);
  rmSync(db);
  const missing = ca.run(['list']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error: database .* is missing/);
  const issue = ca.run(['issue', 'other']);
  assert.equal(issue.code, 1);
});
