/**
 * Hostile and broken input: names with path separators, control characters
 * and unicode; databases that are corrupt, truncated, newer than the code or
 * read-only; CA key files that are missing, corrupt or world-readable; input
 * files of every unreadable kind. Each is exit 1 or 2 with one `error:` line
 * (and a hint where one helps), never a stack trace, never exit 70, never a
 * key on stderr, and nothing written where it should not be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BIN, cleanEnv, createTestCa, openssl, PASSPHRASE, pocketcaAsync, ROOT, secretFile, tempDir, type RunResult, type TestCa } from '../helpers/cli';
import { requireTool } from '../helpers/tools';

/** A clean refusal: the exit code, one error line matching `words`, no stack, no internal error, no key material. */
function assertRefused(r: RunResult, code: 1 | 2, words: RegExp, what: string): void {
  assert.equal(r.code, code, `${what}: expected exit ${code}, got ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, /^error: /m, `${what}: an error line`);
  assert.match(r.stderr, words, `${what}: the error says why`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at .+:\d+:\d+|PRIVATE KEY|SqliteError/, `${what}: no stack trace, no key`);
}

/** A CSR openssl made (test/fixtures/csr/README.md). */
const SERVER_CSR = join(ROOT, 'test', 'fixtures', 'csr', 'rsa-2048-server.csr.der');

const listAll = (ca: TestCa) => JSON.parse(ca.ok(['list', '--all', '--json']).stdout) as { name: string; subject: string }[];

test('names with path separators, control characters and unicode are refused before anything is written', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const hostile = [
    '../evil',
    '../../etc/passwd',
    'a/b',
    '/abs',
    'a\\b',
    '..',
    '.hidden',
    '',
    ' ',
    'two words',
    'line\nbreak',
    'tab\there',
    'esc\u001b[2J',
    'del\u007f',
    'ünïcödé',
    'ａｌｉｃｅ',
    'alice\u202egnp.exe',
    '-rf',
    'x'.repeat(65),
  ];
  const runs: { what: string; args: string[]; code: 1 | 2; words: RegExp }[] = [];
  for (const name of hostile) {
    // A leading dash makes it an option to the parser: refused there, as an unknown option.
    runs.push({ what: `issue ${JSON.stringify(name)}`, args: ['issue', name, '--out-dir', ca.out], code: 2, words: /invalid name|unknown option/ });
  }
  // The same gate for sign --name; as a reference (show, revoke) a name is a database key, never a path: unknown, exit 1.
  for (const name of ['../evil', 'a/b', 'esc\u001b[2J', 'ａｌｉｃｅ']) {
    runs.push({ what: `sign --name ${JSON.stringify(name)}`, args: ['sign', SERVER_CSR, '--name', name], code: 2, words: /invalid name/ });
    for (const verb of ['show', 'revoke']) runs.push({ what: `${verb} ${JSON.stringify(name)}`, args: [verb, name], code: 1, words: /no certificate with serial or name/ });
  }
  for (let i = 0; i < runs.length; i += 4) {
    const batch = runs.slice(i, i + 4);
    const results = await Promise.all(batch.map((r) => ca.runAsync(r.args)));
    results.forEach((r, k) => assertRefused(r, batch[k]!.code, batch[k]!.words, batch[k]!.what));
  }
  assert.deepEqual(readdirSync(ca.out), [], 'nothing written in the output directory');
  assert.deepEqual(readdirSync(ca.dir).sort(), ['home', 'out', 'passphrase'], 'nothing written next to it');
  assert.deepEqual(listAll(ca), [], 'nothing recorded');
  // The edges that are valid.
  ca.ok(['issue', 'x'.repeat(64), '--profile', 'server', '--dns', 'edge.home.arpa']);
  ca.ok(['issue', 'A.b_c-1', '--profile', 'server', '--dns', 'edge.home.arpa']);
  assert.ok(existsSync(join(ca.out, 'A.b_c-1.pem')));
});

test('a CSR whose CN is a path, a terminal escape and unicode: refused (exit 2, nothing recorded); with --cn, or a path without controls, the name is sanitised', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const csr = join(ca.dir, 'evil.csr');
  const made = openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', csr + '.key', '-utf8', '-subj', '/CN=..\\/..\\/evil\u001b[2J\u0007 ü', '-out', csr]);
  assert.equal(made.code, 0, made.stderr);
  // SPEC "Trust boundary": a CN with control characters is exit 2 unless --cn is given.
  const refused = ca.run(['sign', csr, '--json']);
  assertRefused(refused, 2, /the CSR's CN "\.\.\/\.\.\/evil\\u001b\[2J\\u0007 ü" contains control characters/, 'CN with controls');
  assert.doesNotMatch(refused.stderr, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'the error shows the controls escaped');
  assert.deepEqual(listAll(ca), [], 'nothing recorded');
  const rescued = JSON.parse(ca.ok(['sign', csr, '--cn', 'evil device', '--json']).stdout);
  assert.equal(rescued.subject, 'CN=evil device');
  assert.equal(rescued.name, 'evil-device');

  const path = join(ca.dir, 'path.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path + '.key', '-utf8', '-subj', '/CN=..\\/..\\/etc\\/passwd ü', '-out', path]).code, 0);
  const signed = JSON.parse(ca.ok(['sign', path, '--json']).stdout);
  assert.match(signed.name, /^[A-Za-z0-9][A-Za-z0-9._-]*$/);
  assert.doesNotMatch(signed.name, /\//);
  assert.equal(signed.subject, 'CN=../../etc/passwd ü', 'the certificate keeps the CN the device asked for');
  for (const args of [['list', '--all'], ['show', signed.serial], ['log']]) {
    const out = ca.ok(args).stdout;
    assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f]/, `${args[0]} prints no control character`);
  }
  assert.deepEqual(readdirSync(ca.out), []);
});

test('issue --cn goes through the same subject builder: controls and over 64 code points refused, 64 emoji accepted', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const refused: [string, RegExp][] = [
    ['bell\u0007', /^error: --cn "bell\\u0007" contains control characters$/m],
    ['rtl\u202eexe.gnp', /^error: --cn "rtl\\u202eexe\.gnp" contains control characters$/m],
    ['\u{1F600}'.repeat(65), /^error: --cn ".*" is 65 characters long; a CN has at most 64$/m],
    ['  ', /^error: --cn "  " is empty$/m],
  ];
  const results = await Promise.all(refused.map(([cn]) => ca.runAsync(['issue', 'dev', '--cn', cn, '--profile', 'server', '--dns', 'dev.home.arpa'])));
  results.forEach((r, i) => assertRefused(r, 2, refused[i]![1], `--cn ${JSON.stringify(refused[i]![0])}`));
  assert.deepEqual(listAll(ca), [], 'nothing recorded');
  assert.deepEqual(readdirSync(ca.out), [], 'nothing written');
  const ok = JSON.parse(ca.ok(['issue', 'dev', '--cn', '\u{1F600}'.repeat(64), '--profile', 'server', '--dns', 'dev.home.arpa', '--json']).stdout);
  assert.equal(ok.subject, 'CN=' + '\u{1F600}'.repeat(64));
  assert.match(openssl(['asn1parse', '-in', ok.files.cert]).stdout, /:commonName\s*\n.*prim: UTF8STRING/);
});

test('a database that is corrupt, truncated, damaged in a page or newer than the code: exit 1 with a hint', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  for (let i = 0; i < 4; i++) ca.ok(['issue', `d${i}`, '--profile', 'server', '--dns', `d${i}.home.arpa`]);
  ca.ok(['revoke', 'd0']);
  const pristine = readFileSync(join(ca.home, 'pocketca.db'));
  /** A copy of the home with its database damaged; each case works on its own copy, so they run in parallel. */
  const damagedHome = (label: string, damage: (bytes: Buffer) => Buffer): string => {
    const home = join(ca.dir, `home-${label.replace(/\W+/g, '-')}`);
    cpSync(ca.home, home, { recursive: true });
    writeFileSync(join(home, 'pocketca.db'), damage(Buffer.from(pristine)));
    return home;
  };
  const keyless = new Set(['list', 'log']);
  const run = (home: string, args: string[]) =>
    pocketcaAsync([...args, '--home', home, ...(keyless.has(args[0]!) ? [] : ['--passphrase-file', ca.passFile])], { cwd: ca.out });
  const all = [['list', '--all'], ['log'], ['crl'], ['revoke', 'd1'], ['backup', join(ca.dir, 'b.backup')]];
  for (const [label, damage] of [
    ['garbage header', (b: Buffer) => b.fill(0x5a, 0, 100)],
    ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
    ['not a database', () => Buffer.from('hello, I am a text file\n')],
  ] as const) {
    const home = damagedHome(label, damage);
    const results = await Promise.all(all.map((args) => run(home, args)));
    results.forEach((r, i) => assertRefused(r, 1, /database .* is corrupt or not a pocketca database/, `${label}: ${all[i]![0]}`));
    assert.match(results[0]!.stderr, /^hint: restore it from a backup with `pocketca restore`$/m);
  }
  // Bytes overwritten in the cells at the end of each page: whatever a query meets is a clean error or a success.
  const pageCases: [number, string[]][] = [];
  // revoke reads the certificates, writes a revocation and a CRL: it meets whatever page is damaged.
  for (let page = 1; page * 4096 < pristine.length; page++) pageCases.push([page, ['revoke', 'd2']]);
  const homes = new Map<number, string>();
  for (let i = 0; i < pageCases.length; i += 4) {
    const batch = pageCases.slice(i, i + 4);
    const results = await Promise.all(
      batch.map(([page, args]) => {
        if (!homes.has(page)) {
          homes.set(page, damagedHome(`page-${page}`, (b) => {
            for (let k = page * 4096 + 3000; k < Math.min(b.length, page * 4096 + 4000); k++) b[k] = (k * 131) & 0xff;
            return b;
          }));
        }
        return run(homes.get(page)!, args);
      }),
    );
    results.forEach((r, k) => {
      const [page, args] = batch[k]!;
      if (r.code !== 0) assertRefused(r, 1, /database/, `page ${page} damaged: ${args[0]}`);
    });
  }

  const db = join(ca.home, 'pocketca.db');
  const newer = new Database(db);
  newer.pragma('user_version = 99');
  newer.close();
  for (const args of [['list'], ['crl'], ['issue', 'x', '--profile', 'server', '--dns', 'x.home.arpa']]) {
    const r = ca.run(args);
    assertRefused(r, 1, /database schema version 99 is newer than this pocketca knows/, `newer: ${args[0]}`);
    assert.match(r.stderr, /^hint: upgrade pocketca$/m);
  }
  const after = new Database(db, { readonly: true });
  assert.equal(after.pragma('user_version', { simple: true }), 99, 'a newer database is not touched');
  after.close();
});

/** Run pocketca as an unprivileged user, so file modes bind (root ignores them). */
function asNobody(args: string[], env: Record<string, string> = {}): RunResult {
  const asRoot = process.getuid?.() === 0;
  const argv = asRoot ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [BIN, ...args];
  const r = spawnSync(asRoot ? 'setpriv' : process.execPath, argv, { env: cleanEnv(env), encoding: 'utf8', timeout: 60_000, cwd: '/' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('a read-only database: reading works, writing is a clean exit 1 and changes nothing', (t) => {
  if (process.getuid?.() === 0 && !requireTool(t, 'setpriv')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'ro', '--profile', 'server', '--dns', 'ro.home.arpa']);
  const crl = readFileSync(join(ca.home, 'crl.pem'));
  // Everything readable by the other user, nothing writable but the directory (SQLite's -shm goes there).
  chmodSync(ca.dir, 0o755);
  chmodSync(ca.home, 0o777);
  for (const f of readdirSync(ca.home)) chmodSync(join(ca.home, f), 0o444);
  const pass = secretFile(ca.dir, 'public-pass', PASSPHRASE);
  chmodSync(pass, 0o444);
  const home = ['--home', ca.home];
  const listed = asNobody(['list', ...home, '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(JSON.parse(listed.stdout).length, 1);
  for (const args of [['crl'], ['revoke', 'ro']]) {
    assertRefused(asNobody([...args, ...home, '--passphrase-file', pass]), 1, /database .* cannot be written/, `read-only: ${args[0]}`);
  }
  assert.deepEqual(readFileSync(join(ca.home, 'crl.pem')), crl, 'crl.pem unchanged');
  // A home directory the user cannot write either: SQLite cannot even make its -shm; still a clean error.
  for (const f of readdirSync(ca.home)) if (f.endsWith('-shm') || f.endsWith('-wal')) rmSync(join(ca.home, f));
  chmodSync(ca.home, 0o755);
  for (const args of [['list'], ['crl', '--passphrase-file', pass]]) {
    assertRefused(asNobody([...args, ...home]), 1, /database .* cannot be written/, `read-only home: ${args[0]}`);
  }
  chmodSync(ca.home, 0o700);
});

test('a CA key that is missing, corrupt, unencrypted, of another CA, or world-readable', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'k', '--profile', 'server', '--dns', 'k.home.arpa']);
  const keyPath = join(ca.home, 'ca.key.pem');
  const key = readFileSync(keyPath, 'latin1');
  const other = createTestCa();
  t.after(() => other.cleanup());
  const body = key.replace(/-----[^-]+-----|\s/g, '');
  const cases: [string, string | Buffer | null, RegExp][] = [
    ['missing', null, /the CA key .* is missing/],
    ['empty', '', /the CA key .*: the file is empty/],
    ['random bytes', Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) & 0xff)), /is not an encrypted private key/],
    ['cut in half', key.slice(0, key.length / 2), /is not an encrypted private key/],
    ['damaged base64', `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body.slice(0, 64)}\n${body.slice(200, 400)}\n-----END ENCRYPTED PRIVATE KEY-----\n`, /is damaged/],
    ['unencrypted', openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']).stdout, /is an unencrypted private key/],
    ['another CA', readFileSync(join(other.home, 'ca.key.pem'), 'latin1'), /does not belong to the CA certificate/],
  ];
  for (const [label, content, words] of cases) {
    if (content === null) {
      writeFileSync(keyPath, '');
      spawnSync('rm', [keyPath]);
    } else writeFileSync(keyPath, content, { mode: 0o600 });
    const commands = [['crl'], ['revoke', 'k'], ['issue', 'n', '--profile', 'server', '--dns', 'n.home.arpa'], ['backup', join(ca.dir, 'b')]];
    const results = await Promise.all(commands.map((args) => ca.runAsync(args)));
    results.forEach((r, i) => {
      assertRefused(r, 1, words, `key ${label}: ${commands[i]![0]}`);
      assert.match(r.stderr, /^hint: restore the home from a backup/m, `key ${label}: a hint`);
    });
  }
  assert.equal(JSON.parse(ca.ok(['list', '--json']).stdout).length, 1, 'nothing issued or revoked meanwhile');
  writeFileSync(keyPath, key);
  chmodSync(keyPath, 0o644);
  const r = ca.ok(['crl']);
  assert.match(r.stderr, /^warning: .*ca\.key\.pem can be read by other users \(mode 0644\); chmod 600 it$/m, 'a world-readable key is a warning');
  chmodSync(keyPath, 0o600);
  assert.doesNotMatch(ca.ok(['crl']).stderr, /warning/);

  writeFileSync(join(ca.home, 'ca.pem'), 'garbage\n');
  assertRefused(ca.run(['crl']), 1, /holds no certificate/, 'ca.pem garbage');
  writeFileSync(join(ca.home, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n');
  assertRefused(ca.run(['crl']), 1, /the CA certificate .* is damaged/, 'ca.pem damaged');
});

test('input files: missing, a directory, a FIFO, empty, huge, or too much on stdin: exit 2 before parsing', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const dir = tempDir();
  t.after(() => spawnSync('rm', ['-rf', dir]));
  mkdirSync(join(dir, 'a-directory'));
  spawnSync('mkfifo', [join(dir, 'fifo')]);
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'huge.csr'), '');
  truncateSync(join(dir, 'huge.csr'), 3 * 1024 * 1024);
  writeFileSync(join(dir, 'huge.backup'), '');
  truncateSync(join(dir, 'huge.backup'), 1024 * 1024 * 1024 + 1);
  const cases: [string[], RegExp, string?][] = [
    [['sign', join(dir, 'missing.csr')], /cannot read CSR .*missing\.csr: no such file/],
    [['sign', join(dir, 'a-directory')], /cannot read CSR .*: it is a directory/],
    [['sign', join(dir, 'fifo')], /cannot read CSR .*: not a regular file/],
    [['sign', join(dir, 'empty')], /cannot read CSR .*: the file is empty/],
    [['sign', join(dir, 'huge.csr')], /is 3145728 bytes; a CSR is a few kilobytes \(limit 65536\)/],
    [['sign', '-'], /CSR on stdin is larger than 65536 bytes/, 'x'.repeat(200_000)],
    [['sign', '-'], /no CSR on stdin/, ''],
    [['renew', 'whatever', '--csr', join(dir, 'huge.csr')], /a CSR is a few kilobytes/],
    [['restore', join(dir, 'huge.backup'), '--home', join(dir, 'restored')], /is 1073741825 bytes; a pocketca backup is the size of its database/],
    [['restore', join(dir, 'a-directory'), '--home', join(dir, 'restored')], /it is a directory/],
    [['restore', join(dir, 'empty'), '--home', join(dir, 'restored')], /the file is empty/],
    [['log', '--since', 'last tuesday'], /--since "last tuesday" is not a date/],
    [['crl', '--passphrase-file', join(dir, 'huge.csr')], /passphrase file .* is larger than 4096 bytes/],
  ];
  for (const [args, words, input] of cases) {
    const started = Date.now();
    assertRefused(ca.run(args, input === undefined ? {} : { input }), 2, words, args.join(' '));
    assert.ok(Date.now() - started < 20_000, `${args[0]} refuses without reading it all`);
  }
  assert.equal(existsSync(join(dir, 'restored')), false, 'no home made from a refused backup');
});
