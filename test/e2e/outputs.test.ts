/**
 * SPEC "Outputs never destroy what is not theirs" and the filesystem and
 * --home errors of "Everyday use" (issues 9 and 10), on the real bin/pocketca.
 * Artefacts are checked with openssl; the home with better-sqlite3 directly.
 * Device tests use a node made here (`mknod null c 1 3`) and a FIFO made with
 * mkfifo, never /dev itself. Permission tests run pocketca as an unprivileged
 * user the test creates (useradd): as root every directory is writable.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cleanEnv, createTestCa, openssl, pocketca, secretFile, tempDir, type RunResult, type TestCa } from '../helpers/cli';
import { crlNumbers, withDatabase } from '../helpers/guarantees';
import { requireTool } from '../helpers/tools';

const certificateCount = (home: string): number => withDatabase(home, (db) => db.prepare('SELECT count(*) FROM certificates').pluck().get() as number);

function newCa(t: TestContext): TestCa {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  return ca;
}

/** A CSR made by openssl (P-256: quick to make, accepted by `sign`). */
function makeCsr(ca: TestCa): string {
  const csr = join(ca.dir, 'dev.csr');
  const r = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(ca.dir, 'dev.key'), '-subj', '/CN=sensor-1', '-out', csr]);
  assert.equal(r.code, 0, r.stderr);
  return csr;
}

/** openssl verifies the file as a CRL signed by this CA (PEM or DER). */
function assertCrlOf(ca: TestCa, path: string, der = false): number {
  const r = openssl(['crl', '-in', path, ...(der ? ['-inform', 'DER'] : []), '-CAfile', join(ca.home, 'ca.pem'), '-noout', '-crlnumber']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /verify OK/);
  return parseInt(/crlNumber=(?:0x)?([0-9A-F]+)/i.exec(r.stdout)![1]!, 16);
}

function assertOneErrorLine(r: RunResult, words: RegExp, code: 1 | 2): void {
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, words);
  assert.doesNotMatch(r.stderr, /internal error|    at /);
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, r.stderr);
}

test('crl --out and sign --out never write into the CA home, with or without --force, also through a symlink or a hard link', (t) => {
  const ca = newCa(t);
  const csr = makeCsr(ca);
  const key = readFileSync(join(ca.home, 'ca.key.pem'));
  const cert = readFileSync(join(ca.home, 'ca.pem'));
  symlinkSync(join(ca.home, 'ca.key.pem'), join(ca.dir, 'key-link'));
  symlinkSync(ca.home, join(ca.dir, 'home-link'));
  linkSync(join(ca.home, 'ca.key.pem'), join(ca.dir, 'key-hardlink'));
  for (const force of [[], ['--force']]) {
    for (const target of [join(ca.home, 'ca.key.pem'), join(ca.dir, 'key-link'), join(ca.dir, 'home-link', 'ca.key.pem'), join(ca.dir, 'key-hardlink'), join(ca.home, 'copy.crl')]) {
      assertOneErrorLine(ca.run(['crl', '--out', target, ...force]), /error: --out: .* is inside the CA home/, 2);
    }
    for (const target of [join(ca.home, 'ca.pem'), join(ca.dir, 'home-link', 'ca.pem'), join(ca.home, 'sensor-1.pem')]) {
      assertOneErrorLine(ca.run(['sign', csr, '--out', target, ...force]), /error: --out: .* is inside the CA home/, 2);
    }
    assertOneErrorLine(ca.run(['bundle', '--out', join(ca.home, 'bundle.pem'), ...force]), /inside the CA home/, 2);
  }
  assert.deepEqual(readFileSync(join(ca.home, 'ca.key.pem')), key, 'the CA key is unchanged, byte for byte');
  assert.deepEqual(readFileSync(join(ca.home, 'ca.pem')), cert, 'the CA certificate is unchanged');
  assert.deepEqual(crlNumbers(ca.home), [1], 'no CRL was signed');
  assert.equal(certificateCount(ca.home), 0, 'nothing was recorded');
  const homeFiles = readdirSync(ca.home).filter((f) => !f.startsWith('pocketca.db-'));
  assert.deepEqual(homeFiles.sort(), ['bundle.pem', 'ca.key.pem', 'ca.pem', 'crl.pem', 'pocketca.db'], 'no file was added to the home');
  // The default output directory is the current one: running `issue` inside the home is refused too.
  assertOneErrorLine(ca.run(['issue', 'phone'], { cwd: ca.home }), /--out-dir: .* is inside the CA home/, 2);
  assertOneErrorLine(ca.run(['proxy', 'nginx', '--out-dir', join(ca.dir, 'home-link')]), /inside the CA home/, 2);
});

test('an existing file is replaced only when it is the same kind from this CA; anything else needs --force', (t) => {
  const ca = newCa(t);
  const other = newCa(t);
  const out = (name: string) => join(ca.dir, name);
  // A key and a text file: refused, untouched, with the --force hint; replaced with --force.
  openssl(['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out('some.key')]);
  writeFileSync(out('notes.txt'), 'my notes\n');
  for (const name of ['some.key', 'notes.txt']) {
    const before = readFileSync(out(name));
    const r = ca.run(['crl', '--out', out(name)]);
    assertOneErrorLine(r, new RegExp(`${name.replace('.', '\\.')} already exists and is not a CRL of this CA\\nhint: .*--force`), 1);
    assert.deepEqual(readFileSync(out(name)), before, `${name} untouched`);
  }
  assert.deepEqual(crlNumbers(ca.home), [1], 'a refused output signs no CRL');
  ca.ok(['crl', '--out', out('notes.txt'), '--force']);
  assert.equal(assertCrlOf(ca, out('notes.txt')), 2);

  // An earlier CRL of this CA (PEM, or DER) is replaced; another CA's is not.
  ca.ok(['crl', '--out', out('notes.txt')]);
  assert.equal(assertCrlOf(ca, out('notes.txt')), 3);
  ca.ok(['crl', '--der', '--out', out('ca.crl')]);
  ca.ok(['crl', '--der', '--out', out('ca.crl')]);
  assert.equal(assertCrlOf(ca, out('ca.crl'), true), 5);
  other.ok(['crl', '--out', out('other.crl')]);
  const otherCrl = readFileSync(out('other.crl'));
  assertOneErrorLine(ca.run(['crl', '--out', out('other.crl')]), /other\.crl already exists and is not a CRL of this CA/, 1);
  assert.deepEqual(readFileSync(out('other.crl')), otherCrl);

  // sign --out: a certificate of this CA is replaced; a key is not.
  const csr = makeCsr(ca);
  ca.ok(['sign', csr, '--out', out('sensor.pem')]);
  ca.ok(['sign', csr, '--out', out('sensor.pem')]);
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), out('sensor.pem')]).code, 0);
  const recorded = certificateCount(ca.home);
  assertOneErrorLine(ca.run(['sign', csr, '--out', out('some.key')]), /some\.key already exists and is not a certificate of this CA/, 1);
  assert.equal(certificateCount(ca.home), recorded, 'a refused output records no certificate');
  assertOneErrorLine(ca.run(['sign', csr, '--out', out('other.crl')]), /is not a certificate of this CA/, 1);

  // bundle --out: a bundle of this CA is replaced, another CA's bundle is not.
  ca.ok(['bundle', '--out', out('bundle.pem')]);
  ca.ok(['bundle', '--out', out('bundle.pem')]);
  other.ok(['bundle', '--out', out('other-bundle.pem')]);
  assertOneErrorLine(ca.run(['bundle', '--out', out('other-bundle.pem')]), /is not a certificate bundle of this CA/, 1);
  assertOneErrorLine(ca.run(['bundle', '--out', out('some.key')]), /is not a certificate bundle/, 1);

  // backup FILE: an earlier backup of this CA is replaced; another CA's backup or a text file is not.
  ca.ok(['backup', out('ca.backup')]);
  ca.ok(['backup', out('ca.backup')]);
  other.ok(['backup', out('other.backup')]);
  const otherBackup = readFileSync(out('other.backup'));
  assertOneErrorLine(ca.run(['backup', out('other.backup')]), /other\.backup already exists and is not a pocketca backup of this CA/, 1);
  assert.deepEqual(readFileSync(out('other.backup')), otherBackup);
  assertOneErrorLine(ca.run(['backup', out('some.key')]), /is not a pocketca backup/, 1);

  // qr: a PNG over a PNG, not over a text file.
  ca.ok(['qr', 'https://cloud.home.arpa/', '--png', out('q.png')]);
  ca.ok(['qr', 'https://cloud.home.arpa/', '--png', out('q.png')]);
  writeFileSync(out('readme.txt'), 'text\n');
  assertOneErrorLine(ca.run(['qr', 'https://cloud.home.arpa/', '--png', out('readme.txt')]), /is not a PNG image/, 1);
  ca.ok(['qr', 'https://cloud.home.arpa/', '--svg', out('q.svg')]);
  ca.ok(['qr', 'https://cloud.home.arpa/', '--svg', out('q.svg')]);
  assertOneErrorLine(ca.run(['qr', 'https://cloud.home.arpa/', '--svg', out('q.png')]), /is not an SVG image/, 1);
  assert.equal(readFileSync(out('readme.txt'), 'utf8'), 'text\n');
});

test('issue, renew and proxy replace only their own earlier files in --out-dir', (t) => {
  const ca = newCa(t);
  const dir = join(ca.dir, 'phones');
  // A missing final directory is made (0700: it holds PKCS#12s), as `proxy --out-dir` makes its own (0755).
  ca.ok(['issue', 'phone', '--out-dir', dir, '--keep-key']);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const first = readFileSync(join(dir, 'phone.p12'));
  // Its certificate is in use: a second identity needs renew (or --force).
  assertOneErrorLine(ca.run(['issue', 'phone', '--out-dir', dir]), /phone already has a valid certificate[\s\S]*hint: .*pocketca renew phone/, 1);
  assert.deepEqual(readFileSync(join(dir, 'phone.p12')), first);
  // renew replaces the device's own files.
  ca.ok(['renew', 'phone', '--out-dir', dir]);
  assert.notDeepEqual(readFileSync(join(dir, 'phone.p12')), first);
  // Once revoked, a new identity for the name replaces even the device's own earlier files only with --force.
  ca.ok(['revoke', 'phone']);
  const oldKey = readFileSync(join(dir, 'phone.key.pem'));
  assertOneErrorLine(ca.run(['issue', 'phone', '--out-dir', dir, '--keep-key']), /phone\.pem already exists and holds an earlier file of phone, which issue replaces only with --force/, 1);
  assert.deepEqual(readFileSync(join(dir, 'phone.key.pem')), oldKey);
  ca.ok(['issue', 'phone', '--out-dir', dir, '--keep-key', '--force']);
  assert.notDeepEqual(readFileSync(join(dir, 'phone.key.pem')), oldKey);
  // Someone else's file under a device's name is not replaced, by issue or renew: untouched, nothing recorded; --force replaces it.
  const recorded = certificateCount(ca.home);
  writeFileSync(join(dir, 'tablet.p12'), 'not a PKCS#12\n');
  assertOneErrorLine(ca.run(['issue', 'tablet', '--out-dir', dir]), /tablet\.p12 already exists and is not a file of tablet from this CA/, 1);
  assert.equal(certificateCount(ca.home), recorded, 'nothing recorded');
  assert.equal(readFileSync(join(dir, 'tablet.p12'), 'utf8'), 'not a PKCS#12\n');
  ca.ok(['issue', 'tablet', '--out-dir', dir, '--force']);
  assert.equal(readFileSync(join(dir, 'tablet.p12'))[0], 0x30, 'a PKCS#12 (DER)');
  writeFileSync(join(dir, 'phone.mobileconfig'), 'not a profile\n');
  assertOneErrorLine(ca.run(['renew', 'phone', '--out-dir', dir]), /phone\.mobileconfig already exists and is not a file of phone from this CA/, 1);
  assert.equal(readFileSync(join(dir, 'phone.mobileconfig'), 'utf8'), 'not a profile\n');
  ca.ok(['renew', 'phone', '--out-dir', dir, '--force']);
  assert.notEqual(readFileSync(join(dir, 'phone.mobileconfig'), 'utf8'), 'not a profile\n');

  // proxy --out-dir: a second run replaces its own files; a foreign bundle.pem is refused.
  ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa']);
  const args = ['proxy', 'nginx', '--cert', join(ca.out, 'cloud.pem'), '--key', join(ca.out, 'cloud.key.pem'), '--upstream', 'http://127.0.0.1:8123'];
  const px = join(ca.dir, 'to-proxy');
  ca.ok([...args, '--out-dir', px]);
  assert.equal(statSync(px).mode & 0o777, 0o755);
  ca.ok([...args, '--out-dir', px]);
  writeFileSync(join(px, 'bundle.pem'), 'somebody else\'s trust list\n');
  assertOneErrorLine(ca.run([...args, '--out-dir', px]), /bundle\.pem already exists and is not a certificate bundle of this CA/, 1);
  assert.equal(readFileSync(join(px, 'bundle.pem'), 'utf8'), 'somebody else\'s trust list\n');
  // Refused before the WebSocket token's key is made (that is recorded in the home).
  const proxyEvents = () => withDatabase(ca.home, (db) => db.prepare("SELECT count(*) FROM events WHERE command = 'proxy'").pluck().get() as number);
  const events = proxyEvents();
  assertOneErrorLine(ca.run([...args, '--out-dir', px, '--websocket-token']), /bundle\.pem already exists/, 1);
  assert.equal(proxyEvents(), events, 'nothing recorded');
  ca.ok([...args, '--out-dir', px, '--force']);
  assert.equal(openssl(['x509', '-in', join(px, 'bundle.pem'), '-noout']).code, 0);
});

test('devices, FIFOs, process substitution and - are written through, never replaced', async (t) => {
  if (!requireTool(t, 'mkfifo')) return;
  const ca = newCa(t);
  const nullDevice = join(ca.dir, 'null');
  assert.equal(spawnSync('mknod', [nullDevice, 'c', '1', '3']).status, 0, 'mknod (the tests run as root)');
  ca.ok(['bundle', '--out', nullDevice]);
  ca.ok(['crl', '--out', nullDevice]);
  ca.ok(['backup', nullDevice]);
  assert.ok(lstatSync(nullDevice).isCharacterDevice(), 'still a character device');

  const fifo = join(ca.dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  for (const [args, check] of [
    [['bundle', '--out', fifo], (data: Buffer) => assert.deepEqual(data, readFileSync(join(ca.home, 'ca.pem')))],
    [['crl', '--der', '--out', fifo], (data: Buffer) => {
      writeFileSync(join(ca.dir, 'from-fifo.crl'), data);
      assertCrlOf(ca, join(ca.dir, 'from-fifo.crl'), true);
    }],
  ] as const) {
    // The reader opens the FIFO while pocketca runs, as a shell pipeline would.
    const reader = spawn('cat', [fifo]);
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (c: Buffer) => chunks.push(c));
    const read = new Promise((resolve) => reader.on('close', resolve));
    // A FIFO renamed over would leave the reader waiting forever: bounded.
    const stop = setTimeout(() => reader.kill(), 30_000);
    const r = await ca.runAsync([...args], { timeoutMs: 30_000 });
    await read;
    clearTimeout(stop);
    assert.equal(r.code, 0, r.stderr);
    check(Buffer.concat(chunks));
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
  }

  // `-` and /dev/stdout are stdout; `>(...)` is a pipe with no real path.
  const stdout = ca.ok(['bundle', '--out', '-']);
  assert.equal(stdout.stdout, readFileSync(join(ca.home, 'ca.pem'), 'utf8'));
  const backup = spawnSync(process.execPath, [BIN, 'backup', '-', '--home', ca.home, '--passphrase-file', ca.passFile], { env: cleanEnv() });
  assert.equal(backup.status, 0, String(backup.stderr));
  assert.equal(backup.stdout.subarray(0, 16).toString('latin1'), 'pocketca-backup\n', 'the backup itself on stdout');
  const viaDevStdout = ca.ok(['crl', '--quiet', '--out', '/dev/stdout']);
  writeFileSync(join(ca.dir, 'stdout.crl'), viaDevStdout.stdout);
  assert.equal(assertCrlOf(ca, join(ca.dir, 'stdout.crl')), 4);
  const shell = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" bundle --home "${ca.home}" --out >(cat > "${join(ca.dir, 'subst.pem')}"); wait`], { env: cleanEnv(), encoding: 'utf8' });
  assert.equal(shell.status, 0, shell.stderr);
  for (let i = 0; i < 50 && statSync(join(ca.dir, 'subst.pem')).size === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(readFileSync(join(ca.dir, 'subst.pem'), 'utf8'), readFileSync(join(ca.home, 'ca.pem'), 'utf8'));
});

test('an output that cannot be written fails before anything is signed or recorded, as one error line', (t) => {
  const ca = newCa(t);
  const csr = makeCsr(ca);
  const missing = join(ca.dir, 'no', 'such', 'dir');
  writeFileSync(join(ca.dir, 'a-file'), 'x');
  const cases: [string[], RegExp, 1 | 2][] = [
    [['crl', '--out', join(missing, 'c.crl')], /error: --out: cannot write .*no\/such\/dir\/c\.crl: directory .*no\/such\/dir does not exist/, 2],
    [['crl', '--out', join(ca.dir, 'a-file', 'c.crl')], /error: --out: cannot write .*a-file\/c\.crl: a part of the path is not a directory/, 2],
    [['crl', '--out', ca.dir], /error: --out: .* is a directory/, 2],
    [['sign', csr, '--out', join(missing, 's.pem')], /cannot write .*s\.pem: directory .* does not exist/, 2],
    [['backup', join(missing, 'b.backup')], /cannot write .*b\.backup: directory .* does not exist/, 2],
    [['issue', 'phone', '--out-dir', join(missing, 'x')], /--out-dir: cannot make .*: its parent .* does not exist/, 2],
    [['issue', 'phone', '--out-dir', join(ca.dir, 'a-file')], /--out-dir: .*a-file is not a directory/, 2],
    [['proxy', 'nginx', '--out-dir', join(ca.dir, 'a-file')], /error: --out-dir: .*a-file is not a directory/, 2],
    [['proxy', 'nginx', '--out-dir', join(missing, 'x')], /its parent .* does not exist/, 2],
    [['bundle', '--out', ''], /--out: needs a file name/, 2],
  ];
  for (const [args, words, code] of cases) assertOneErrorLine(ca.run(args), words, code);
  assert.deepEqual(crlNumbers(ca.home), [1], 'no CRL signed');
  assert.equal(certificateCount(ca.home), 0, 'nothing recorded');

  // /proc refuses new files: answered at once (it used to spin in mkdirSync's recursion at 100% CPU).
  const started = Date.now();
  const proc = ca.run(['proxy', 'nginx', '--out-dir', '/proc/pocketca-nope'], { timeoutMs: 20_000 });
  assertOneErrorLine(proc, /--out-dir: cannot write \/proc\/pocketca-nope: \/proc does not accept new files/, 1);
  assert.ok(Date.now() - started < 15_000);
});

test('a read-only file system: exit 1 naming the path, nothing signed', (t) => {
  if (!requireTool(t, 'unshare')) return;
  const ca = newCa(t);
  const ro = join(ca.dir, 'ro');
  mkdirSync(ro);
  // A read-only tmpfs in a mount namespace of its own: nothing to unmount, nothing seen outside.
  const probe = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "${ro}"`], { encoding: 'utf8' });
  if (probe.status !== 0) {
    if (process.env.CI === 'true') assert.fail(`unshare -rm cannot mount: ${probe.stderr}`);
    t.skip(`no mount namespace here: ${probe.stderr.trim()}`);
    return;
  }
  const run = spawnSync(
    'unshare',
    ['-rm', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"`, 'sh', ro, process.execPath, BIN, 'crl', '--out', join(ro, 'c.crl'), '--home', ca.home, '--passphrase-file', ca.passFile],
    { env: cleanEnv(), encoding: 'utf8', timeout: 60_000 },
  );
  assertOneErrorLine({ code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr }, /error: --out: cannot write .*ro\/c\.crl: read-only file system/, 1);
  assert.deepEqual(crlNumbers(ca.home), [1], 'no CRL signed');
});

const TEST_USER = 'pocketca-outputs';

/** Run pocketca as an unprivileged user (created here when needed), so file modes apply. */
function asUser(t: TestContext, args: string[]): RunResult | undefined {
  if (process.getuid?.() !== 0) {
    const r = pocketca(args);
    return r;
  }
  if (!requireTool(t, 'runuser') || !requireTool(t, 'useradd')) return undefined;
  if (spawnSync('id', ['-u', TEST_USER]).status !== 0) {
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
  }
  const r = spawnSync('runuser', ['-u', TEST_USER, '--', process.execPath, BIN, ...args], { env: cleanEnv(), encoding: 'utf8', cwd: '/', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function userIds(): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

test('a read-only output directory and an unreadable home: permission denied, exit 1, nothing signed', (t) => {
  const ca = newCa(t);
  // Make sure the user exists, then hand the CA to it.
  if (!asUser(t, ['--version'])) return;
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds();
    spawnSync('chown', ['-R', `${uid}:${gid}`, ca.dir]);
    chmodSync(ca.dir, 0o755);
  }
  const ro = join(ca.dir, 'ro');
  mkdirSync(ro);
  if (process.getuid?.() === 0) chownSync(ro, userIds().uid, userIds().gid);
  chmodSync(ro, 0o555);
  const base = ['--home', ca.home, '--passphrase-file', ca.passFile];
  const r = asUser(t, ['crl', '--out', join(ro, 'c.crl'), ...base])!;
  assertOneErrorLine(r, /error: --out: cannot write .*ro\/c\.crl: permission denied/, 1);
  assert.deepEqual(crlNumbers(ca.home), [1], 'no CRL signed');
  const issue = asUser(t, ['issue', 'phone', '--out-dir', ro, ...base])!;
  assertOneErrorLine(issue, /--out-dir: cannot write .*ro\/: permission denied/, 1);
  assert.equal(certificateCount(ca.home), 0);
  const backup = asUser(t, ['backup', join(ro, 'b.backup'), ...base])!;
  assertOneErrorLine(backup, /cannot write .*b\.backup: permission denied/, 1);

  // A home the user may not read is "permission denied", not "no CA".
  chmodSync(ca.home, 0o700);
  if (process.getuid?.() === 0) chownSync(ca.home, 0, 0);
  else chmodSync(ca.home, 0o000);
  const list = asUser(t, ['list', '--home', ca.home])!;
  assertOneErrorLine(list, /error: cannot read the CA home .*: permission denied/, 1);
  assert.doesNotMatch(list.stderr, /no CA|pocketca init/);
  chmodSync(ca.home, 0o700);
});

test('--home that is a file, empty, or under a file: exit 2 saying so; init does not hint a command that fails', (t) => {
  const dir = tempDir();
  t.after(() => spawnSync('rm', ['-rf', dir]));
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  writeFileSync(join(dir, 'pass'), 'correct horse battery staple\n', { mode: 0o600 });
  for (const args of [['list', '--home', file], ['init', '--home', file, '--passphrase-file', join(dir, 'pass')], ['crl', '--home', file]]) {
    const r = pocketca(args);
    assertOneErrorLine(r, /error: the CA home .*a-file is not a directory\nhint: point --home/, 2);
    assert.doesNotMatch(r.stderr, /pocketca init --home/);
  }
  assertOneErrorLine(pocketca(['list', '--home', join(file, 'sub')]), /the CA home .*a-file\/sub is not a directory: a part of its path is a file/, 2);
  assertOneErrorLine(pocketca(['list', '--home', '']), /error: --home is empty/, 2);
  assertOneErrorLine(pocketca(['list'], { env: { POCKETCA_HOME: '' } }), /error: POCKETCA_HOME is empty/, 2);
  assert.deepEqual(readdirSync(dir).sort(), ['a-file', 'pass'], 'nothing created');
  // A home that cannot be made is said so before the passphrase is asked (mkdirSync's recursion used to spin on /proc).
  const proc = pocketca(['init', '--home', '/proc/pocketca-nope/home', '--passphrase-file', join(dir, 'pass')], { timeoutMs: 20_000 });
  assertOneErrorLine(proc, /--home: cannot write \/proc\/pocketca-nope\/home: \/proc does not accept new files/, 1);
  // A missing home is still "no CA" with the init hint, which then works.
  const missing = pocketca(['list', '--home', join(dir, 'new-home')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no CA in .*\nhint: create one with `pocketca init --home /);
});

/** Start `args` paused at `point`, wait until `ready`, then run `swap` while it waits. */
async function swapWhilePaused(ca: TestCa, args: string[], point: string, ready: () => boolean, swap: () => void): Promise<RunResult> {
  const run = ca.runAsync(args, { env: { POCKETCA_TEST_PAUSE_AT: `${point}@4000` } });
  // The point comes after an unlock and a signature: seconds on a loaded machine.
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && !ready(); ) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ready(), `${args[0]} never reached ${point}`);
  swap();
  return run;
}

test('an output swapped for a link into the home between the check and the write is refused, the home untouched', async (t) => {
  if (!requireTool(t, 'mkfifo')) return;
  const ca = newCa(t);
  const keyBefore = readFileSync(join(ca.home, 'ca.key.pem'));
  const dbIno = statSync(join(ca.home, 'pocketca.db')).ino;

  // A FIFO that becomes a symbolic link to the CA key after the check: opened and written through, it overwrote the key in place.
  const fifo = join(ca.dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const crlBefore = readFileSync(join(ca.home, 'crl.pem'), 'latin1');
  const viaFifo = await swapWhilePaused(ca, ['crl', '--out', fifo], 'crl:written', () => readFileSync(join(ca.home, 'crl.pem'), 'latin1') !== crlBefore, () => {
    rmSync(fifo);
    symlinkSync(join(ca.home, 'ca.key.pem'), fifo);
  });
  assert.equal(viaFifo.code, 1, viaFifo.stderr);
  assert.match(viaFifo.stderr, /error: .*fifo.*changed/);
  assert.deepEqual(readFileSync(join(ca.home, 'ca.key.pem')), keyBefore, 'the CA key is untouched');

  // A directory that becomes a symbolic link to the home: the backup was renamed over pocketca.db.
  const dir = join(ca.dir, 'drop');
  mkdirSync(dir);
  const viaDir = await swapWhilePaused(ca, ['backup', join(dir, 'pocketca.db')], 'backup:snapshot', () => readdirSync(ca.home).some((f) => f.startsWith('.pocketca.db.tmp-')), () => {
    renameSync(dir, `${dir}-moved`);
    symlinkSync(ca.home, dir);
  });
  assert.equal(viaDir.code, 1, viaDir.stderr);
  assert.match(viaDir.stderr, /error: .*pocketca\.db.*changed/);
  assert.equal(statSync(join(ca.home, 'pocketca.db')).ino, dbIno, 'the database is untouched');
  assert.equal(certificateCount(ca.home), 0);
});

test('issue 16: a file that appears at an output name between the check and the write is not replaced; the run exits 1 and says what it recorded', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = newCa(t);
  const dir = join(ca.dir, 'phones');
  mkdirSync(dir);
  const p12 = secretFile(ca.dir, 'p12-password', 'appeared');
  const tempOf = (where: string, name: string) => () => readdirSync(where).some((f) => f.startsWith(`.${name}.tmp-`));
  // While phone.p12 is synced under its temporary name, another program writes phone.p12.
  const r = await swapWhilePaused(ca, ['issue', 'phone', '--out-dir', dir, '--key-type', 'ec', '--p12-password-file', p12], 'before-rename:phone.p12', tempOf(dir, 'phone.p12'), () =>
    writeFileSync(join(dir, 'phone.p12'), 'somebody else\'s\n'),
  );
  assertOneErrorLine(r, /^error: \S+\/phone\.p12 appeared after it was checked .*: left as it is; phone's certificate [0-9a-f]+ is recorded, but its files were not written and its key is gone\nhint: `pocketca renew phone --out-dir DIR` /m, 1);
  assert.equal(readFileSync(join(dir, 'phone.p12'), 'utf8'), 'somebody else\'s\n', 'not replaced');
  assert.deepEqual(readdirSync(dir), ['phone.p12'], 'phone.pem taken back, no temporary file left');
  assert.equal(certificateCount(ca.home), 1);
  // The hint works.
  const other = join(ca.dir, 'other');
  ca.ok(['renew', 'phone', '--out-dir', other, '--key-type', 'ec', '--p12-password-file', p12]);
  assert.equal(openssl(['pkcs12', '-in', join(other, 'phone.p12'), '-passin', `file:${p12}`, '-nokeys', '-noout']).code, 0);

  // renew may replace the device's own files, and only those: one swapped for another file meanwhile is left alone.
  const swapped = await swapWhilePaused(ca, ['renew', 'phone', '--out-dir', other, '--p12-password-file', p12], 'before-rename:phone.pem', tempOf(other, 'phone.pem'), () => {
    writeFileSync(join(other, 'new.pem'), 'a certificate someone else put here\n');
    renameSync(join(other, 'new.pem'), join(other, 'phone.pem'));
  });
  assertOneErrorLine(swapped, /phone\.pem was replaced after it was checked .*: left as it is; phone's certificate [0-9a-f]+ is recorded/, 1);
  assert.equal(readFileSync(join(other, 'phone.pem'), 'utf8'), 'a certificate someone else put here\n');
});

test('issue 16: on a FAT filesystem (no hard links, no modes) issue, issue --batch and renew write their files, and a file that appears is still not replaced', async (t) => {
  if (!requireTool(t, 'openssl') || !requireTool(t, 'mkfs.vfat') || !requireTool(t, 'fusefat') || !requireTool(t, 'fusermount')) return;
  const ca = createTestCa();
  let mounted = false;
  // Unmounted before the test's directory is removed.
  t.after(() => {
    if (mounted) spawnSync('fusermount', ['-u', stick]);
    ca.cleanup();
  });
  // A FAT image mounted with fusefat (FUSE: as a USB stick reads, without a kernel module): link(2) is EPERM, chmod ENOSYS.
  const image = join(ca.dir, 'stick.img');
  const stick = join(ca.dir, 'stick');
  writeFileSync(image, Buffer.alloc(0));
  spawnSync('truncate', ['-s', '16M', image]);
  assert.equal(spawnSync('mkfs.vfat', [image]).status, 0);
  mkdirSync(stick);
  const mount = spawnSync('fusefat', ['-o', 'rw+', image, stick], { encoding: 'utf8' });
  if (mount.status !== 0) {
    // FUSE is the kernel's to grant: a container without /dev/fuse skips, saying so; with it, CI must mount.
    if (process.env.CI === 'true' && existsSync('/dev/fuse')) assert.fail(`fusefat cannot mount: ${mount.stderr}`);
    t.skip(`no FUSE here: ${mount.stderr.trim()}`);
    return;
  }
  mounted = true;
  const p12 = secretFile(ca.dir, 'p12-password', 'on-the-stick');
  const out = join(stick, 'out');
  ca.ok(['issue', 'phone', '--out-dir', out, '--key-type', 'ec', '--p12-password-file', p12]);
  assert.equal(openssl(['pkcs12', '-in', join(out, 'phone.p12'), '-passin', `file:${p12}`, '-nokeys', '-noout']).code, 0);
  ca.ok(['renew', 'phone', '--out-dir', out, '--p12-password-file', p12]);
  const list = join(ca.dir, 'names.txt');
  writeFileSync(list, 'fa\nfb\nfc\n');
  const batch = join(stick, 'batch');
  ca.ok(['issue', '--batch', list, '--key-type', 'ec', '--out-dir', batch]);
  const csv = readFileSync(join(batch, 'passwords.csv'), 'utf8').trimEnd().split('\n').slice(1);
  assert.equal(csv.length, 3);
  for (const line of csv) {
    const [name, password] = line.split(',') as [string, string];
    assert.equal(openssl(['pkcs12', '-in', join(batch, `${name}.p12`), '-passin', `file:${secretFile(ca.dir, `pw-${name}`, password)}`, '-nokeys', '-noout']).code, 0, name);
  }
  const r = await swapWhilePaused(ca, ['issue', 'tab', '--out-dir', out, '--key-type', 'ec', '--p12-password-file', p12], 'before-rename:tab.p12', () => readdirSync(out).some((f) => f.startsWith('.tab.p12.tmp-')), () =>
    writeFileSync(join(out, 'tab.p12'), 'somebody else\'s\n'),
  );
  assertOneErrorLine(r, /tab\.p12 appeared after it was checked/, 1);
  assert.equal(readFileSync(join(out, 'tab.p12'), 'utf8'), 'somebody else\'s\n');
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('tab') || f.startsWith('.')), ['tab.p12']);
});
