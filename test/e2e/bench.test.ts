/**
 * `npm run bench` compares pocketca with openssl and easy-rsa: without
 * easy-rsa or GNU time it ends at once with one message naming what to
 * install, not a stack trace minutes in (issue 10). Nothing is measured here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cleanEnv, ROOT } from '../helpers/cli';

const BENCH = join(ROOT, 'dist', 'bench', 'run.js');

function bench(env: Record<string, string>, args: string[] = ['--quick', '--only', 'issue,crl']) {
  const r = spawnSync(process.execPath, [BENCH, ...args], { env: cleanEnv(env), encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, timedOut: r.error !== undefined };
}

test('npm run bench without easy-rsa or GNU time: exit 1 at once, naming the packages, no stack trace', () => {
  const started = Date.now();
  const r = bench({ EASYRSA_BIN: '/nonexistent/easyrsa', GNU_TIME_BIN: '/nonexistent/time' });
  assert.equal(r.timedOut, false, 'it does not start measuring');
  assert.equal(r.code, 1, r.stderr);
  assert.ok(Date.now() - started < 10_000);
  assert.match(r.stderr, /^bench: cannot run: the benchmark compares pocketca with tools that are not installed:$/m);
  assert.match(r.stderr, /^ {2}- easy-rsa, looked for at \/nonexistent\/easyrsa \(Debian\/Ubuntu: apt-get install easy-rsa; or set EASYRSA_BIN/m);
  assert.match(r.stderr, /^ {2}- GNU time, looked for at \/nonexistent\/time, .*apt-get install time/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '');
  // GNU time is needed only for the CRL's memory: without the crl scenario only easy-rsa is named.
  const noCrl = bench({ EASYRSA_BIN: '/nonexistent/easyrsa', GNU_TIME_BIN: '/nonexistent/time' }, ['--quick', '--only', 'issue']);
  assert.equal(noCrl.code, 1);
  assert.doesNotMatch(noCrl.stderr, /GNU time/);
});
