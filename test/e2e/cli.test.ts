import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
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

/**
 * The README's commands table, as `command -> its row`: the row of `issue NAME` is under `issue`,
 * that of `issue --batch FILE` under `issue --batch`.
 */
function readmeCommandRows(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = /\| command \| what it does \|\n\| --- \| --- \|\n((?:\|.*\n)+)/.exec(readme);
  assert.ok(table, 'the README has its commands table');
  const rows = new Map<string, string>();
  for (const line of table[1]!.trimEnd().split('\n')) {
    const cell = /^\| `([^`]+)`/.exec(line)![1]!;
    const key = cell.split(' ').filter((w, i) => i === 0 || w.startsWith('--')).join(' ');
    rows.set(key, line);
  }
  return rows;
}

test('every command and flag of the second release is in the README commands table, and in the program', () => {
  const rows = readmeCommandRows();
  const secondRelease: [string, string[]][] = [
    ['init', ['--key-type', '--curve']],
    ['issue', ['--key-type', '--curve', '--force', '--cn']],
    ['issue --batch', []],
    ['renew', ['--key-type', '--curve', '--force']],
    ['sign', ['--cn', '--force']],
    ['crl', ['--force']],
    ['bundle', ['--force']],
    ['qr', ['--force']],
    ['backup', ['--force']],
    ['restore', ['--force', '--allow-unsigned']],
    ['proxy', ['--force', '--websocket-path']],
    ['completion', []],
  ];
  for (const [command, flags] of secondRelease) {
    const row = rows.get(command);
    assert.ok(row, `the README's commands table has a row for ${command}: ${[...rows.keys()].join(', ')}`);
    const help = pocketca([...command.split(' ').slice(0, 1), '--help']).stdout;
    for (const flag of [...command.split(' ').slice(1), ...flags]) {
      assert.match(help, new RegExp(`^\\s+${flag}\\b`, 'm'), `pocketca ${command.split(' ')[0]} has ${flag}`);
      assert.ok(row.includes(`${flag}`), `the README's row for ${command} names ${flag}: ${row}`);
    }
  }
  // And -v, the global one.
  assert.match(readFileSync(join(ROOT, 'README.md'), 'utf8'), /`pocketca -v`/);
});

/** The shell lines of the README's ```sh blocks. */
function readmeShellLines(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).filter((l) => l.trim() !== '');
}

test("the README says pocketca as the hints do, and its own line makes `pocketca` a command in the clone", (t) => {
  const lines = readmeShellLines();
  const commands = lines.filter((l) => /^(\.\/bin\/)?pocketca /.test(l));
  assert.ok(commands.length >= 8, 'the README shows its commands');
  assert.deepEqual(commands.filter((l) => l.startsWith('./bin/')), [], 'no ./bin/pocketca where the hints say pocketca');
  const aliasAt = lines.findIndex((l) => /^alias pocketca=/.test(l));
  assert.ok(aliasAt >= 0 && aliasAt < lines.indexOf(commands[0]!), 'the README defines `pocketca` before its first use');
  // The README's own line, run in the clone as a reader pastes it: then `pocketca` is this program.
  const alias = lines[aliasAt]!.replace(/\s+#.*$/, '');
  const r = tool('bash', ['-c', `shopt -s expand_aliases\n${alias}\npocketca --version`], { cwd: ROOT });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${require(join(ROOT, 'package.json')).version}\n`);
  // And a hint of the program reads as the README's commands do.
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone', '-q']);
  const again = ca.run(['issue', 'alice-iphone']);
  assert.match(again.stderr, /^hint: pocketca renew alice-iphone /m);
});

test('what the README has a user write in the clone is ignored by git; no committed file is', (t) => {
  if (tool('git', ['-C', ROOT, 'rev-parse', '--is-inside-work-tree']).stdout.trim() !== 'true') {
    t.skip('not a git work tree');
    return;
  }
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // The README's commands, run where a reader in the clone runs them (here a copy of its layout: the current directory).
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
