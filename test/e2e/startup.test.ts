/**
 * Issue 18, SPEC "Start-up speed": every command loads only what it uses.
 * Node's loader is the largest share of a short command's own time, so a
 * module loaded for nothing is a cost every run pays: `--version` loads no
 * module of pocketca's but its entry point, and no command loads the
 * prompts, QR or key-generation code unless it prompts, draws or makes a
 * key. The real bin runs with a preload (NODE_OPTIONS=--require) that
 * writes Node's module cache at exit; the figures are in `npm run bench`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createTestCa, openssl, pocketca, ROOT, type RunOptions, type TestCa } from '../helpers/cli';

/**
 * The preload: the main thread's module cache at exit, one path a line, into
 * $LOADED_LIST, and, the first time scrypt is called, into $LOADED_LIST.scrypt.
 */
const RECORDER = `'use strict';
if (require('node:worker_threads').isMainThread) {
  const fs = require('node:fs');
  const crypto = require('node:crypto');
  const cached = () => Object.keys(require.cache).join('\\n');
  const scrypt = crypto.scrypt;
  crypto.scrypt = function (...args) {
    if (!fs.existsSync(process.env.LOADED_LIST + '.scrypt')) fs.writeFileSync(process.env.LOADED_LIST + '.scrypt', cached());
    return scrypt.apply(this, args);
  };
  process.on('exit', () => fs.writeFileSync(process.env.LOADED_LIST, cached()));
}
`;

/** Paths relative to the project, node_modules/... for packages, without the preload. */
function readLoaded(list: string, recorder: string): string[] {
  const paths = readFileSync(list, 'utf8').split('\n').filter(Boolean);
  return paths.filter((p) => p !== recorder).map((p) => (p.includes(`${sep}node_modules${sep}`) ? `node_modules/${p.split(`${sep}node_modules${sep}`).pop()}` : relative(ROOT, p)));
}

/** What `args` loaded by its end, and by the time it first called scrypt (undefined: never). */
function loadedBy(ca: TestCa, args: string[], run: (args: string[], opts: RunOptions) => { code: number | null; stderr: string } = ca.run): string[] & { atScrypt?: string[] } {
  const recorder = join(ca.dir, 'recorder.js');
  const list = join(ca.dir, 'loaded.txt');
  writeFileSync(recorder, RECORDER);
  writeFileSync(list, '');
  rmSync(`${list}.scrypt`, { force: true });
  const r = run(args, { env: { NODE_OPTIONS: `--require ${recorder}`, LOADED_LIST: list } });
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  const loaded: string[] & { atScrypt?: string[] } = readLoaded(list, recorder);
  assert.ok(loaded.length > 0, 'the preload ran');
  if (existsSync(`${list}.scrypt`)) loaded.atScrypt = readLoaded(`${list}.scrypt`, recorder);
  return loaded;
}

const packageOf = (path: string): string | undefined => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
const packagesIn = (paths: string[]): Set<string> => new Set(paths.map(packageOf).filter((p): p is string => p !== undefined));

test('--version, -V and -v load nothing of pocketca but the entry point and package.json', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  for (const flag of ['--version', '-V', '-v']) {
    const loaded = loadedBy(ca, [flag], (args, opts) => pocketca(args, opts));
    assert.deepEqual(loaded.sort(), ['bin/pocketca', 'dist/src/cli/start.js', 'package.json'], flag);
  }
});

test('a command loads the prompts, the QR code, node-forge and the key generation only when it uses them', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'phone', '--key-type', 'ec']);
  const csr = join(ca.dir, 'device.csr');
  const made = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(ca.dir, 'device.key'), '-subj', '/CN=device', '-out', csr]);
  assert.equal(made.code, 0, made.stderr);
  const never = ['@inquirer/prompts', 'qrcode', 'node-forge'];
  const keyMaking = ['dist/src/cli/head-start.js', 'dist/src/host/key-pairs.js'];

  const list = loadedBy(ca, ['list', '--json']);
  assert.ok(packagesIn(list).has('better-sqlite3') && packagesIn(list).has('commander'), 'the preload sees packages');
  for (const name of never) assert.ok(!packagesIn(list).has(name), `list loads no ${name}`);
  for (const file of keyMaking) assert.ok(!list.includes(file), `list loads no ${file}`);
  assert.deepEqual(list.filter((p) => p.startsWith('dist/src/cli/commands/')), ['dist/src/cli/commands/index.js', 'dist/src/cli/commands/list.js'], 'one command module');

  const sign = loadedBy(ca, ['sign', csr, '--out', join(ca.dir, 'device.pem'), '-q']);
  for (const name of never) assert.ok(!packagesIn(sign).has(name), `sign loads no ${name}`);
  assert.ok(sign.includes('dist/src/cli/head-start.js'), 'sign starts unlocking the CA key early');

  const issue = loadedBy(ca, ['issue', 'laptop', '--key-type', 'ec', '-q']);
  for (const name of never) assert.ok(!packagesIn(issue).has(name), `issue --key-type ec loads no ${name}`);

  const qr = loadedBy(ca, ['qr', 'https://ca.home.arpa/phone', '--png', join(ca.dir, 'phone.png')]);
  assert.ok(packagesIn(qr).has('qrcode'), 'qr draws with qrcode');
});

/**
 * The CA key's scrypt (~50 ms) starts before the program loads (head-start.ts),
 * so that it runs beside the loading: by then only what reading the key file
 * needs is loaded, not commander, the database or the X.509 and key-type
 * modules. `issue` with an RSA key starts the key pair first (the longer of
 * the two); with an EC key it has nothing to start but the scrypt.
 */
test('sign and issue start the CA key\'s scrypt having loaded only what reading the key needs', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const csr = join(ca.dir, 'device.csr');
  const made = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(ca.dir, 'device.key'), '-subj', '/CN=device', '-out', csr]);
  assert.equal(made.code, 0, made.stderr);
  const allowed = new Set(['bin/pocketca', 'package.json', ...['cli/start', 'cli/argv', 'errors', 'cli/head-start', 'host/key-prefetch', 'formats/encrypted-key', 'formats/der', 'formats/der-reader', 'formats/pem', 'cli/secrets', 'host/files'].map((m) => `dist/src/${m}.js`)]);
  for (const args of [['sign', csr, '--out', join(ca.dir, 'device.pem'), '-q'], ['issue', 'phone', '--key-type', 'ec', '-q'], ['crl', '-q']]) {
    const { atScrypt } = loadedBy(ca, args);
    assert.ok(atScrypt, `${args[0]} unlocks the CA key with scrypt`);
    assert.deepEqual(atScrypt.filter((p) => !allowed.has(p)), [], `${args[0]}: loaded before the scrypt started`);
  }
  const rsa = loadedBy(ca, ['issue', 'laptop', '-q']);
  assert.ok(rsa.atScrypt!.includes('dist/src/host/key-pairs.js'), 'issue (RSA) has started its key pair first');
});
