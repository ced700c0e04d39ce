/**
 * Driving `pocketca scep` from e2e tests: start it (--json, 127.0.0.1), read
 * the challenge from the profile it wrote (Python's plistlib), enroll with
 * Debian's scepclient (micromdm/scep), and read what the CRL says of a
 * serial with openssl.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openssl, type TestCa } from './cli';
import { startServing, type ServingProcess } from './lan-server';
import { readPlistWithPython } from './plist';

export interface Enrollment {
  proc: ServingProcess;
  url: URL;
  scepUrl: string;
}

/** `pocketca scep NAME --json` on 127.0.0.1 with the CA's home; killed after `killAfterMs` (the watch window alone is 15 s). */
export async function startScep(t: TestContext, ca: TestCa, name: string, extra: string[] = [], killAfterMs = 90_000): Promise<Enrollment> {
  const proc = await startServing(
    t,
    ['scep', name, '--home', ca.home, '--passphrase-file', ca.passFile, '--out-dir', ca.out, '--bind', '127.0.0.1', '--json', ...extra],
    ['url', 'scepUrl'],
    'scep',
    killAfterMs,
  );
  return { proc, url: new URL(proc.json.url!), scepUrl: proc.json.scepUrl! };
}

/** The one-time challenge in NAME.mobileconfig (what the device reads from the profile). */
export function challengeOf(ca: TestCa, name: string): string {
  const plist = readPlistWithPython(join(ca.out, `${name}.mobileconfig`));
  const scep = plist.PayloadContent.find((p: { PayloadType: string }) => p.PayloadType === 'com.apple.security.scep');
  return scep.PayloadContent.Challenge;
}

/** Run scepclient in its own new directory (it reuses a csr.pem it finds there); its certificate lands in DIR/client.pem. */
export function scepclient(dir: string, scepUrl: string, cn: string, challenge: string, keySize = 2048): { code: number; output: string } {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('scepclient', ['-server-url', scepUrl, '-private-key', 'k.pem', '-cn', cn, '-challenge', challenge, '-keySize', String(keySize)], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** openssl's text of the CRL entry for `serial` (hex, any case), or undefined when the CRL does not list it. */
export function crlEntryOf(ca: TestCa, serial: string): string | undefined {
  const r = openssl(['crl', '-in', join(ca.home, 'crl.pem'), '-noout', '-text']);
  assert.equal(r.code, 0, r.stderr);
  const wanted = serial.toUpperCase().replace(/^0+/, '');
  const entries = r.stdout.split(/(?=Serial Number: )/).slice(1);
  return entries.find((e) => /^Serial Number: ([0-9A-F]+)/.exec(e)?.[1]?.replace(/^0+/, '') === wanted);
}

/** Wait (5 s at most) until the process's stderr matches: what it wrote while the test was blocked in spawnSync arrives later. */
export async function stderrMatching(proc: ServingProcess, pattern: RegExp, ms = 5_000): Promise<string> {
  const until = Date.now() + ms;
  while (!pattern.test(proc.stderr()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(proc.stderr(), pattern);
  return proc.stderr();
}
