/**
 * `npm run bundle` for the offline laptop (issue 10): the file it writes
 * installs with `npm install -g --offline FILE` in a network namespace with no
 * network (`unshare -n`: only a loopback device) and a PATH holding only
 * node, npm, sh and env (no gcc, cc, make or python, so node-gyp cannot
 * build), with an empty npm cache and HOME; then the installed pocketca makes
 * a CA and issues a certificate that openssl verifies. Without the bundle's
 * changes to better-sqlite3 (its install script removed), npm runs
 * `prebuild-install || node-gyp rebuild` and the install fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { openssl, PASSPHRASE, ROOT, secretFile, tempDir } from '../helpers/cli';
import { requireTool } from '../helpers/tools';

/** The real path of a command on this machine's PATH. */
function which(command: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${command} is on PATH`);
  return realpathSync(r.stdout.trim());
}

test('npm run bundle: the file installs offline without a compiler, and the installed pocketca works', (t) => {
  if (!requireTool(t, 'unshare') || !requireTool(t, 'npm')) return;
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

  const made = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.js'), '--out-dir', dir], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(made.status, 0, made.stderr);
  const file = join(dir, `pocketca-${version}-${process.platform}-${process.arch}.tgz`);
  assert.ok(existsSync(file), made.stdout);
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  assert.match(made.stdout, new RegExp(`^sha256 ${sha256}$`, 'm'), 'prints the checksum of the file');
  assert.match(made.stdout, new RegExp(`npm install -g --offline \\./pocketca-${version}-`));

  // A PATH with only what npm needs to run: no compiler, no make, no python.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const command of ['node', 'sh', 'env']) symlinkSync(which(command), join(bin, command));
  symlinkSync(which('npm'), join(bin, 'npm'));
  for (const missing of ['gcc', 'g++', 'cc', 'c++', 'make', 'python3', 'python', 'node-gyp', 'curl', 'wget']) {
    assert.notEqual(spawnSync('sh', ['-c', `command -v ${missing}`], { env: { PATH: bin } }).status, 0, `${missing} is not on the install's PATH`);
  }
  const home = join(dir, 'home');
  const prefix = join(dir, 'prefix');
  mkdirSync(home);
  const offline = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('unshare', ['-n', '--', which('env'), '-i', `HOME=${home}`, `PATH=${bin}:${join(prefix, 'bin')}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...args], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 300_000,
    });

  const network = offline(['node', '-e', 'console.log(Object.keys(require("os").networkInterfaces()).join(","))']);
  assert.equal(network.status, 0, network.stderr);
  assert.match(network.stdout, /^(lo)?\n$/, 'no network but loopback inside unshare -n');

  const installed = offline(['npm', 'install', '-g', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', '--prefix', prefix, file], {
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_update_notifier: 'false',
  });
  assert.equal(installed.status, 0, `npm install failed:\n${installed.stdout}\n${installed.stderr}`);
  assert.doesNotMatch(installed.stdout + installed.stderr, /node-gyp|prebuild-install/, 'nothing tried to build or download');
  const module = join(prefix, 'lib', 'node_modules', 'pocketca');
  assert.ok(existsSync(join(module, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')), 'the compiled module is inside');
  assert.ok(existsSync(join(prefix, 'share', 'man', 'man1', 'pocketca.1')), 'the man page is installed');
  assert.ok(existsSync(join(module, 'docs', 'README.md')) && existsSync(join(module, 'README.md')), 'the manual is inside, as the man page says');

  const passFile = secretFile(dir, 'passphrase', PASSPHRASE);
  const ca = join(dir, 'ca');
  const init = offline(['pocketca', 'init', '--home', ca, '--key-size', '2048', '--passphrase-file', passFile]);
  assert.equal(init.status, 0, init.stderr);
  const issued = offline(['pocketca', 'issue', 'alice-laptop', '--home', ca, '--passphrase-file', passFile, '--no-mobileconfig', '--json']);
  assert.equal(issued.status, 0, issued.stderr);
  const cert = JSON.parse(issued.stdout).files.cert as string;
  const verify = openssl(['verify', '-CAfile', join(ca, 'ca.pem'), '-purpose', 'sslclient', cert]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.equal(offline(['pocketca', '--version']).stdout, `${version}\n`);
});
