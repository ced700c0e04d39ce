import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, pocketca, ROOT, tempDir, tool } from '../helpers/cli';

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

test('-v prints the version as --version and -V do; no command has a -v of its own', () => {
  const version = `${require(join(ROOT, 'package.json')).version}\n`;
  for (const args of [['-v'], ['-V'], ['--version'], ['-v', '--home', '/nonexistent']]) {
    const r = pocketca(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, version, args.join(' '));
  }
  const commands = [...pocketca(['--help']).stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  assert.ok(commands.length >= 17, commands.join(' '));
  for (const c of commands) assert.doesNotMatch(pocketca([c, '--help']).stdout, /^\s+-v[ ,]/m, `${c} has no -v that -v would shadow`);
});

test('what the docs have a user write in the clone is ignored by git; no committed file is', (t) => {
  if (tool('git', ['-C', ROOT, 'rev-parse', '--is-inside-work-tree']).stdout.trim() !== 'true') {
    t.skip('not a git work tree');
    return;
  }
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // The documented commands, run where a reader in the clone runs them (here a copy of its layout: the current directory).
  ca.ok(['issue', 'alice-iphone', '--keep-key']);
  ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa']);
  ca.ok(['proxy', 'nginx', '--server-name', 'cloud.home.arpa', '--upstream', 'http://127.0.0.1:8080', '--cert', 'cloud.pem', '--key', 'cloud.key.pem', '--out-dir', './to-proxy']);
  ca.ok(['crl', '--out', 'ca.crl', '--der']);
  ca.ok(['bundle', '--out', 'bundle.pem']);
  ca.ok(['backup', 'pocketca.backup']);
  ca.ok(['qr', 'https://cloud.home.arpa/', '--png', 'cloud.png', '--svg', 'cloud.svg']);
  const written = (readdirSync(ca.out, { recursive: true }) as string[]).filter((f) => statSync(join(ca.out, f)).isFile());
  assert.ok(written.length >= 14, written.join(' '));
  const notIgnored = written.filter((f) => tool('git', ['-C', ROOT, 'check-ignore', '--no-index', '-q', f]).code !== 0);
  assert.deepEqual(notIgnored, [], 'git would offer these to commit');
  assert.equal(tool('git', ['-C', ROOT, 'ls-files', '-ci', '--exclude-standard']).stdout, '', 'no tracked file is ignored');
});
