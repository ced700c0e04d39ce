/**
 * SPEC "Modes": under `umask 000` every file of the home is 0600 (0644 for
 * ca.pem, bundle.pem, crl.pem) from its first byte, SQLite's -wal and -shm
 * included, watched while `init` is stopped midway; `init` makes an existing
 * empty home 0700, and so does `restore`; issue, revoke, crl and backup leave nothing more open than
 * allowed, in the home or among their outputs.
 * Run: npx tsc -p . && node --test dist/test/e2e/modes.test.js
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { parseTempName } from '../../src/host/files';
import { createTestCa, pocketca, pocketcaAsync, PASSPHRASE, secretFile, tempDir, type TestCa } from '../helpers/cli';

const PUBLIC_HOME_FILES = new Set(['ca.pem', 'bundle.pem', 'crl.pem']);

/** Run `fn` with the process umask set to `mask`: children spawned inside inherit it. */
function withUmask<T>(mask: number, fn: () => T): T {
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

const modeOf = (path: string): number | undefined => {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined; // renamed or removed between readdir and stat
  }
};
const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** The mode SPEC "The CA home" gives a file of the home, also while it is a temporary name or SQLite's -wal/-shm. */
function homeMode(name: string): number {
  let target = name.replace(/-(wal|shm|journal)$/, '');
  // init writes a temporary file of a temporary name, then links it (src/app/init-ca.ts).
  for (let t = parseTempName(target); t; t = parseTempName(target)) target = t.target;
  return PUBLIC_HOME_FILES.has(target) ? 0o644 : 0o600;
}

/** Every file in the home whose mode is not the one it must have, as `name 0644`. */
function wrongHomeModes(home: string): string[] {
  let names: string[];
  try {
    names = readdirSync(home);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const mode = modeOf(join(home, name));
    return mode === undefined || mode === homeMode(name) ? [] : [`${name} ${octal(mode)}`];
  });
}

test('init under umask 000: every file of the home, -wal and -shm included, has its mode from the first byte, also midway', async (t) => {
  const dir = tempDir();
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  const pass = secretFile(dir, 'pass', PASSPHRASE);
  const home = join(dir, 'home');
  // Stopped after the CRL's temporary file is written, inside the transaction: the database is open in WAL mode.
  const init = withUmask(0, () =>
    pocketcaAsync(['init', '--home', home, '--passphrase-file', pass, '--key-size', '2048'], { env: { POCKETCA_TEST_PAUSE_AT: 'before-rename:crl.pem@3000' } }),
  );
  let done = false;
  void init.then(() => (done = true));
  const wrong = new Set<string>();
  const seen = new Set<string>();
  let midway: string[] | undefined;
  while (!done) {
    for (const w of wrongHomeModes(home)) wrong.add(w);
    const names = (() => {
      try {
        return readdirSync(home);
      } catch {
        return [];
      }
    })();
    names.forEach((n) => seen.add(n));
    if (!midway && names.some((n) => parseTempName(n)?.target === 'crl.pem')) midway = names;
    await new Promise((r) => setTimeout(r, 5));
  }
  const r = await init;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(midway, 'init was watched while stopped before crl.pem was renamed into place');
  for (const f of ['pocketca.db', 'pocketca.db-wal', 'pocketca.db-shm', 'ca.key.pem', 'ca.pem']) assert.ok(midway.includes(f), `${f} existed midway: ${midway.join(' ')}`);
  assert.deepEqual([...wrong], [], `files seen with the wrong mode (seen: ${[...seen].join(' ')})`);
  assert.deepEqual(wrongHomeModes(home), []);
  assert.equal(modeOf(home), 0o700);
});

test('init makes an existing empty home 0700; one holding other files keeps its mode', (t) => {
  const dir = tempDir();
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  const pass = secretFile(dir, 'pass', PASSPHRASE);
  for (const [name, before] of [
    ['empty-0755', 0o755],
    ['empty-0777', 0o777],
  ] as const) {
    const home = join(dir, name);
    mkdirSync(home);
    chmodSync(home, before);
    const r = withUmask(0, () => pocketca(['init', '--home', home, '--passphrase-file', pass, '--key-size', '2048']));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(octal(modeOf(home)!), '0700', name);
    assert.deepEqual(wrongHomeModes(home), [], name);
  }
  // A directory the user already keeps other things in is theirs: its mode is not changed under them.
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o755);
  secretFile(shared, 'notes.txt', 'mine');
  const r = pocketca(['init', '--home', shared, '--passphrase-file', pass, '--key-size', '2048']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(octal(modeOf(shared)!), '0755');
});

test('restore into an existing empty home makes it 0700, as init does; one holding other files keeps its mode', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const backup = join(ca.out, 'home.pocketca-backup');
  ca.ok(['backup', backup]);
  for (const [name, before] of [
    ['empty-0755', 0o755],
    ['empty-0777', 0o777],
  ] as const) {
    const home = join(ca.dir, name);
    mkdirSync(home);
    chmodSync(home, before);
    const r = withUmask(0, () => pocketca(['restore', backup, '--home', home, '--passphrase-file', ca.passFile]));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(octal(modeOf(home)!), '0700', name);
    assert.deepEqual(wrongHomeModes(home), [], name);
  }
  const shared = join(ca.dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o755);
  secretFile(shared, 'notes.txt', 'mine');
  const r = pocketca(['restore', backup, '--home', shared, '--passphrase-file', ca.passFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(octal(modeOf(shared)!), '0755');
});

/** Allowed modes of what commands write outside the home (SPEC "Guarantees": private material 0600). */
function outputMode(name: string): number {
  if (/\.(key\.pem|p12|mobileconfig|pocketca-backup)$/.test(name) || name === 'backup') return 0o600;
  return 0o644;
}

function tooOpen(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const mode = modeOf(join(dir, name))!;
    return statSync(join(dir, name)).isFile() && (mode & ~outputMode(name)) !== 0 ? [`${name} ${octal(mode)}`] : [];
  });
}

test('issue, revoke, crl and backup under umask 000 leave no file in the home or among their outputs more open than allowed', (t) => {
  const ca: TestCa = withUmask(0, () => createTestCa());
  t.after(() => ca.cleanup());
  const env = { POCKETCA_P12_PASSWORD: 'test-p12-password' };
  withUmask(0, () => {
    ca.ok(['issue', 'phone', '--keep-key'], { env });
    ca.ok(['issue', 'web', '--profile', 'server', '--dns', 'web.home.arpa']);
    ca.ok(['issue', 'laptop', '--no-mobileconfig', '--p12-format', 'modern'], { env });
    ca.ok(['revoke', 'laptop']);
    ca.ok(['crl', '--out', join(ca.out, 'copy.crl.pem')]);
    ca.ok(['backup', join(ca.out, 'home.pocketca-backup')]);
  });
  const written = readdirSync(ca.out).sort();
  for (const f of ['phone.p12', 'phone.mobileconfig', 'phone.key.pem', 'web.key.pem', 'laptop.p12', 'home.pocketca-backup']) {
    assert.ok(written.includes(f), `${f} written: ${written.join(' ')}`);
  }
  assert.deepEqual(tooOpen(ca.out), [], 'outputs');
  assert.deepEqual(wrongHomeModes(ca.home), [], 'home');
  assert.equal(modeOf(ca.home), 0o700);
  assert.equal(basename(ca.home), 'home');
});
