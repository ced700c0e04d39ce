/**
 * `pocketca scep` under a hostile LAN (issue 16, items 2, 5 and 6; SPEC
 * "SCEP under a hostile LAN"), on the real bin against Debian's scepclient
 * and hand-made messages on 127.0.0.1 (127.0.0.2 stands for another machine):
 * - the challenge read off the plain-HTTP profile and used by a second
 *   party, first or second, within the watch window or (from another
 *   address) after it: the certificate issued is revoked (keyCompromise),
 *   openssl finds it on the CRL, exit 1, the serial and fingerprint printed;
 * - a message nested 2,500-3,000 deep by POST and by GET: 400, recorded as
 *   refused, the enrollment goes on and completes;
 * - 60 wrong-challenge requests released at once: 5 decrypted, no more;
 * - refusals that cut the watch short revoke too.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createTestCa, openssl, type TestCa } from '../helpers/cli';
import { fetchRaw, withTimeout } from '../helpers/lan-server';
import { challengeOf, crlEntryOf, scepclient, startScep, stderrMatching } from '../helpers/scep-enrollment';
import { nestedOctetStringMessage, pkcsReq, pkcsReqParts } from '../helpers/scep-request';
import { requireTool } from '../helpers/tools';

const NAME = 'dev-phone';
const tools = (t: TestContext) => requireTool(t, 'scepclient') && requireTool(t, 'openssl') && requireTool(t, 'python3');

/** A key for scepclient made ahead (it uses a k.pem it finds): its own generation could outlast the watch window under load. */
function clientDir(ca: TestCa, name: string): string {
  const dir = join(ca.dir, name);
  mkdirSync(dir, { recursive: true });
  assert.equal(openssl(['genrsa', '-traditional', '-out', join(dir, 'k.pem'), '2048']).code, 0);
  return dir;
}

const caDerOf = (ca: TestCa) => new X509Certificate(readFileSync(join(ca.home, 'ca.pem'))).raw;
const serialOf = (pem: string) => new X509Certificate(readFileSync(pem)).serialNumber.toLowerCase().replace(/^0+/, '');
const fingerprintOf = (pem: string) => new X509Certificate(readFileSync(pem)).fingerprint256;
const scepEvents = (ca: TestCa) => JSON.parse(ca.ok(['log', '--json']).stdout).filter((e: { command: string }) => e.command === 'scep') as { outcome: string; detail: string; serial?: string }[];

/** The certificate in `pem` was revoked for keyCompromise: the error names it, openssl finds it on the CRL and refuses it, list has no valid one. */
function assertRevokedForCompromise(ca: TestCa, stderr: string, pem: string): void {
  const serial = serialOf(pem);
  assert.match(stderr, new RegExp(`error: .*certificate ${serial} was revoked \\(keyCompromise\\) and the CRL re-signed`));
  assert.match(stderr, /hint: copy .*crl\.pem to the proxy; remove dev-phone's profile from the device if it installed; then run pocketca scep dev-phone again/);
  // What to compare with the device: the serial and the SHA-256 fingerprint, as openssl computes them.
  assert.match(stderr, new RegExp(`certificate  ${serial} \\(serial\\), issued \\d\\d:\\d\\d:\\d\\d UTC to 127\\.0\\.0\\.1`));
  assert.ok(stderr.includes(`SHA-256      ${fingerprintOf(pem)}`), stderr);
  assert.equal(openssl(['x509', '-in', pem, '-noout', '-fingerprint', '-sha256']).stdout.trim(), `sha256 Fingerprint=${fingerprintOf(pem)}`);
  assert.match(crlEntryOf(ca, serial) ?? 'not on the CRL', /CRL Reason Code:\s+Key Compromise/);
  const verified = openssl(['verify', '-crl_check', '-CAfile', join(ca.home, 'ca.pem'), '-CRLfile', join(ca.home, 'crl.pem'), pem]);
  assert.notEqual(verified.code, 0);
  assert.match(verified.stdout + verified.stderr, /certificate revoked/);
  assert.deepEqual(JSON.parse(ca.ok(['list', '--json']).stdout), [], 'no valid certificate');
  const all = JSON.parse(ca.ok(['list', '--all', '--json']).stdout);
  assert.deepEqual(
    all.map((c: { serial: string; status: string; reason: string; source: string }) => [c.serial, c.status, c.reason, c.source]),
    [[serial, 'revoked', 'keyCompromise', 'scep']],
  );
}

test('a thief enrolls first with the challenge read off the LAN, then the phone: the phone gets FAILURE, the thief\'s certificate is revoked (keyCompromise), exit 1', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url, scepUrl } = await startScep(t, ca, NAME, ['--ttl', '60s']);
  // The phone downloads its profile over plain HTTP; someone on the LAN reads the challenge in it.
  assert.equal((await fetchRaw(url, url.pathname))?.status, 200);
  const challenge = challengeOf(ca, NAME);
  const thiefDir = clientDir(ca, 'thief');
  const phoneDir = clientDir(ca, 'phone');

  const thief = scepclient(thiefDir, scepUrl, NAME, challenge);
  assert.equal(thief.code, 0, `the thief, first, got a certificate: ${thief.output}`);
  const phone = scepclient(phoneDir, scepUrl, NAME, challenge);
  assert.notEqual(phone.code, 0, phone.output);
  assert.match(phone.output, /failInfo: badRequest/);

  assert.equal(await withTimeout(proc.exited, 20_000, 'scep exit'), 1, proc.stderr());
  const stderr = proc.stderr();
  assert.match(stderr, /error: two parties enrolled dev-phone with its one-time challenge \(someone on the network may have read the profile\)/);
  assert.match(stderr, /then {9}\d\d:\d\d:\d\d UTC, from 127\.0\.0\.1: the same challenge with another key, refused/);
  assertRevokedForCompromise(ca, stderr, join(thiefDir, 'client.pem'));
  assert.ok(scepEvents(ca).some((e) => e.outcome === 'refused' && /the spent challenge with another key, from 127\.0\.0\.1/.test(e.detail)));
  assert.ok(!stderr.includes(challenge), 'the challenge is never printed');
});

test('the phone enrolls first, a thief sends the spent challenge with another key within the watch window: the phone\'s certificate is revoked, exit 1', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url, scepUrl } = await startScep(t, ca, NAME, ['--ttl', '60s']);
  const challenge = challengeOf(ca, NAME);
  const thiefParts = pkcsReqParts(clientDir(ca, 'thief'), NAME, challenge);
  const phoneDir = clientDir(ca, 'phone');
  const phone = scepclient(phoneDir, scepUrl, NAME, challenge);
  assert.equal(phone.code, 0, phone.output);

  const reply = await fetchRaw(url, `${url.pathname}/scep?operation=PKIOperation`, 'POST', pkcsReq(thiefParts, thiefParts.csrDer, caDerOf(ca), 'tx-thief'));
  assert.equal(reply?.status, 200);
  writeAndPrint(ca, reply!.body, /2\.16\.840\.1\.113733\.1\.9\.3[\s\S]*?PRINTABLESTRING:2/);
  assert.equal(await withTimeout(proc.exited, 20_000, 'scep exit'), 1, proc.stderr());
  assertRevokedForCompromise(ca, proc.stderr(), join(phoneDir, 'client.pem'));
});

/** The CertRep, verified under the root by openssl cms, printed and matched. */
function writeAndPrint(ca: TestCa, rep: Buffer, expected: RegExp): void {
  const file = join(ca.dir, 'rep.der');
  writeFileSync(file, rep);
  const v = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', file, '-CAfile', join(ca.home, 'ca.pem'), '-purpose', 'any', '-out', join(ca.dir, 'rep.content')]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file]).stdout, expected);
}

test('a thief enrolls first from another address than the profile download: the watch runs past 15 s to --ttl, and the phone coming later is the second party', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url, scepUrl } = await startScep(t, ca, NAME, ['--ttl', '45s']);
  // The phone is 127.0.0.2 here; the thief (scepclient) 127.0.0.1.
  assert.equal((await fetchRaw(url, url.pathname, 'GET', undefined, { localAddress: '127.0.0.2' }))?.status, 200);
  const challenge = challengeOf(ca, NAME);
  const phoneParts = pkcsReqParts(clientDir(ca, 'phone'), NAME, challenge);
  const thiefDir = clientDir(ca, 'thief');
  const thief = scepclient(thiefDir, scepUrl, NAME, challenge);
  assert.equal(thief.code, 0, thief.output);
  await stderrMatching(proc, /warning: the certificate went to 127\.0\.0\.1, but 127\.0\.0\.2 downloaded the profile: if that is not dev-phone, someone else enrolled first; listening until --ttl ends/);

  // The user is slow to tap Install: past the 15 s window, pocketca still listens.
  const stillRunning = await Promise.race([proc.exited.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 17_000))]);
  assert.ok(stillRunning, 'still listening after 17 s');
  const reply = await fetchRaw(url, `${url.pathname}/scep?operation=PKIOperation`, 'POST', pkcsReq(phoneParts, phoneParts.csrDer, caDerOf(ca), 'tx-phone'), { localAddress: '127.0.0.2' });
  assert.equal(reply?.status, 200);
  writeAndPrint(ca, reply!.body, /2\.16\.840\.1\.113733\.1\.9\.4[\s\S]*?PRINTABLESTRING:2/);
  assert.equal(await withTimeout(proc.exited, 20_000, 'scep exit'), 1, proc.stderr());
  assert.match(proc.stderr(), /then {9}\d\d:\d\d:\d\d UTC, from 127\.0\.0\.2: the same challenge with another key, refused/);
  assertRevokedForCompromise(ca, proc.stderr(), join(thiefDir, 'client.pem'));
});

test('a message nested ~3,000 deep by POST and 2,500 deep by GET ?message=: 400, recorded as refused, the enrollment goes on and scepclient enrolls', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url, scepUrl } = await startScep(t, ca, NAME, ['--ttl', '60s']);
  const path = `${url.pathname}/scep?operation=PKIOperation`;
  const posted = await fetchRaw(url, path, 'POST', nestedOctetStringMessage(3_000));
  assert.equal(posted?.status, 400);
  // By GET in the URL-safe alphabet scepclient uses (13 KB: within Node's 16 KB of headers).
  const get = await fetchRaw(url, `${path}&message=${nestedOctetStringMessage(2_500).toString('base64url')}`);
  assert.equal(get?.status, 400);
  assert.equal((await fetchRaw(url, `${url.pathname}/scep?operation=GetCACaps`))?.status, 200, 'still serving');
  const refused = scepEvents(ca).filter((e) => e.outcome === 'refused');
  assert.equal(refused.length, 2, JSON.stringify(refused));
  for (const e of refused) assert.match(e.detail, /unreadable PKIOperation: not a SCEP message \(DER nested deeper than 24\)/);

  const phone = scepclient(clientDir(ca, 'phone'), scepUrl, NAME, challengeOf(ca, NAME));
  assert.equal(phone.code, 0, phone.output);
  assert.equal(await withTimeout(proc.exited, 40_000, 'scep exit'), 0, proc.stderr());
  assert.equal(JSON.parse(ca.ok(['list', '--json']).stdout).length, 1);
});

/** A POST whose body is sent but for its last byte; `release` sends it. The raw response text once the connection closes. */
function heldPost(url: URL, path: string, body: Buffer): Promise<{ release: () => void; response: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const response = new Promise<string>((done) => socket.on('close', () => done(Buffer.concat(chunks).toString('latin1'))));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // the server may reset the connection as it stops
    socket.setTimeout(20_000, () => socket.destroy());
    socket.once('connect', () => {
      const head = `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-pki-message\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body.subarray(0, -1)]), (error) => (error ? reject(error) : resolve({ release: () => socket.write(body.subarray(-1)), response })));
    });
    socket.once('error', reject);
  });
}

test('60 wrong-challenge PKCSReqs held at their last byte and released together: 5 are decrypted and refused, the other 55 are not read (403), exit 1', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url } = await startScep(t, ca, NAME, ['--ttl', '60s']);
  const parts = pkcsReqParts(clientDir(ca, 'prober'), NAME, 'not-the-challenge');
  const caDer = caDerOf(ca);
  const path = `${url.pathname}/scep?operation=PKIOperation`;
  const held = await Promise.all(Array.from({ length: 60 }, (_, i) => heldPost(url, path, pkcsReq(parts, parts.csrDer, caDer, `tx-${i}`))));
  await new Promise((resolve) => setTimeout(resolve, 500)); // every header and body read by the server
  for (const h of held) h.release();
  const responses = await withTimeout(Promise.all(held.map((h) => h.response)), 20_000, 'responses');

  const certReps = responses.filter((r) => /^HTTP\/1\.1 200 /.test(r) && /content-type: application\/x-pki-message/i.test(r));
  const notRead = responses.filter((r) => /^HTTP\/1\.1 403 /.test(r) && r.endsWith('this enrollment is closed\n'));
  assert.equal(certReps.length, 5, 'exactly the bound was decrypted and answered');
  assert.equal(certReps.length + notRead.length + responses.filter((r) => r === '').length, 60, responses.filter((r) => !/^HTTP\/1\.1 (200|403) /.test(r)).join('\n---\n'));
  assert.ok(notRead.length >= 50, `not read: ${notRead.length}`);
  assert.equal(await withTimeout(proc.exited, 20_000, 'scep exit'), 1, proc.stderr());
  assert.match(proc.stderr(), /error: 5 refused enrollment attempts; the enrollment is closed, nothing was issued/);
  // The log knows a wrong challenge only from a decrypted request: five.
  const refused = scepEvents(ca).filter((e) => e.outcome === 'refused');
  assert.equal(refused.length, 5, JSON.stringify(refused));
  for (const e of refused) assert.match(e.detail, /wrong challenge password \(transaction tx-\d+\)/);
  assert.equal(JSON.parse(ca.ok(['list', '--json', '--all']).stdout).length, 0);
});

test('5 refused attempts during the watch window cut it short: the certificate issued is revoked (keyCompromise), exit 1', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url, scepUrl } = await startScep(t, ca, NAME, ['--ttl', '60s']);
  const phoneDir = clientDir(ca, 'phone');
  const phone = scepclient(phoneDir, scepUrl, NAME, challengeOf(ca, NAME));
  assert.equal(phone.code, 0, phone.output);
  for (let i = 0; i < 5; i++) assert.equal((await fetchRaw(url, `${url.pathname}/scep?operation=PKIOperation`, 'POST', Buffer.from([0x30, 0x03, 0x02, 0x01, i])))?.status, 400);
  assert.equal((await fetchRaw(url, `${url.pathname}/scep?operation=PKIOperation`, 'POST', Buffer.from([0x30, 0x00])))?.status ?? 403, 403, 'past the bound: not read');
  assert.equal(await withTimeout(proc.exited, 20_000, 'scep exit'), 1, proc.stderr());
  assert.match(proc.stderr(), /error: 5 refused enrollment attempts after dev-phone's certificate was issued: the watch for a second use of the challenge could not finish/);
  assertRevokedForCompromise(ca, proc.stderr(), join(phoneDir, 'client.pem'));
});
