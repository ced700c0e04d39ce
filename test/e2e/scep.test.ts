/**
 * `pocketca scep NAME` end to end with Debian's scepclient (package `scep`,
 * micromdm/scep: a real SCEP client no one here wrote) on 127.0.0.1: the
 * profile fetched from the link and read with Python's plistlib, refusals
 * (wrong challenge, weak key, malformed and oversized messages, off-path
 * requests), the enrollment, and the certificate checked with openssl and
 * seen by list, show, log, revoke and the CRL.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, ROOT, type TestCa } from '../helpers/cli';
import { fetchRaw, withTimeout } from '../helpers/lan-server';
import { readPlistWithPython } from '../helpers/plist';
import { challengeOf, crlEntryOf, scepclient as scepclientAs, startScep as startScepOf } from '../helpers/scep-enrollment';
import { breakSignature, pkcsReq, pkcsReqParts } from '../helpers/scep-request';
import { parsePkiMessage } from '../../src/formats/scep';
import { requireTool } from '../helpers/tools';

const NAME = 'dev-phone';

const startScep = (t: TestContext, ca: TestCa, extra: string[] = []) => startScepOf(t, ca, NAME, extra);
const scepclient = (dir: string, scepUrl: string, challenge: string, keySize = 2048) => scepclientAs(dir, scepUrl, NAME, challenge, keySize);

const tools = (t: TestContext) => requireTool(t, 'scepclient') && requireTool(t, 'openssl') && requireTool(t, 'python3');

test('scep: scepclient enrolls with the profile challenge after refused attempts; the certificate is CN=NAME under the root, with its key, and recorded', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url, scepUrl } = await startScep(t, ca, ['--ttl', '60s']);
  const token = url.pathname.slice(1);
  assert.equal(scepUrl, `${url.href}/scep`);

  // The profile, once, as Apple's type; the same bytes are on disk, 0600.
  const profile = await fetchRaw(url, url.pathname);
  assert.equal(profile?.status, 200);
  assert.equal(profile?.headers['content-type'], 'application/x-apple-aspen-config');
  const onDisk = join(ca.out, `${NAME}.mobileconfig`);
  assert.equal(statSync(onDisk).mode & 0o777, 0o600);
  assert.ok(readFileSync(onDisk).equals(profile!.body));
  assert.equal((await fetchRaw(url, url.pathname))?.status, 404, 'the profile link is spent');

  const plist = readPlistWithPython(onDisk);
  const scepPayload = plist.PayloadContent.find((p: { PayloadType: string }) => p.PayloadType === 'com.apple.security.scep');
  const rootPayload = plist.PayloadContent.find((p: { PayloadType: string }) => p.PayloadType === 'com.apple.security.root');
  const content = scepPayload.PayloadContent;
  assert.equal(content.URL, scepUrl);
  assert.match(content.Challenge, /^[0-9a-f]{32}$/, '128 bits');
  assert.deepEqual(content.Subject, [[['CN', NAME]]]);
  assert.equal(content.Keysize, 2048);
  assert.equal(content['Key Type'], 'RSA');
  assert.equal(content['Key Usage'], 5);
  const caDer = new X509Certificate(readFileSync(join(ca.home, 'ca.pem'))).raw;
  assert.equal(Buffer.from(rootPayload.PayloadContent.$data, 'base64').compare(caDer), 0);
  assert.equal(Buffer.from(content.CAFingerprint.$data, 'base64').toString('hex'), createHash('sha1').update(caDer).digest('hex'));
  const challenge: string = content.Challenge;

  // Off the token path, unknown operations, bad and oversized messages.
  const scepPath = `${url.pathname}/scep`;
  assert.equal((await fetchRaw(url, `/${token.slice(0, -1)}x/scep?operation=GetCACaps`))?.status, 404);
  assert.equal((await fetchRaw(url, `${url.pathname}/scepx?operation=GetCACaps`))?.status, 404);
  assert.equal((await fetchRaw(url, `${scepPath}?operation=GetNextCACert`))?.status, 400);
  assert.equal((await fetchRaw(url, `${scepPath}?operation=PKIOperation`, 'PUT'))?.status, 405);
  const caps = await fetchRaw(url, `${scepPath}?operation=GetCACaps`);
  assert.deepEqual(caps?.body.toString().trim().split('\n').sort(), ['AES', 'DES3', 'POSTPKIOperation', 'SCEPStandard', 'SHA-256', 'SHA-512']);
  const caCert = await fetchRaw(url, `${scepPath}?operation=GetCACert`);
  assert.equal(caCert?.headers['content-type'], 'application/x-x509-ca-cert');
  assert.ok(caCert?.body.equals(caDer));
  assert.equal((await fetchRaw(url, `${scepPath}?operation=PKIOperation`, 'POST', Buffer.from('not a PKIMessage')))?.status, 400);
  const oversized = await fetchRaw(url, `${scepPath}?operation=PKIOperation`, 'POST', Buffer.alloc(200 * 1024, 0x30));
  assert.ok(oversized === null || oversized.status === 413, `oversized: ${oversized?.status}`);

  // A real PKCSReq from scepclient, encrypted to another CA (test/fixtures/scep), by GET in standard
  // base64: a CertRep FAILURE signed by this CA (openssl cms -verify), pkiStatus 2, failInfo badMessageCheck (1).
  const foreign = readFileSync(join(ROOT, 'test', 'fixtures', 'scep', 'pkcsreq-nocaps.der'));
  const rep = await fetchRaw(url, `${scepPath}?operation=PKIOperation&message=${encodeURIComponent(foreign.toString('base64'))}`);
  assert.equal(rep?.status, 200);
  assert.equal(rep?.headers['content-type'], 'application/x-pki-message');
  writeFileSync(join(ca.dir, 'rep.der'), rep!.body);
  const v = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(ca.dir, 'rep.der'), '-CAfile', join(ca.home, 'ca.pem'), '-purpose', 'any', '-out', join(ca.dir, 'rep.content')]);
  assert.equal(v.code, 0, v.stderr);
  const printed = openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(ca.dir, 'rep.der')]).stdout;
  assert.match(printed, /2\.16\.840\.1\.113733\.1\.9\.3[\s\S]*?PRINTABLESTRING:2/, 'pkiStatus FAILURE');
  assert.match(printed, /2\.16\.840\.1\.113733\.1\.9\.4[\s\S]*?PRINTABLESTRING:1/, 'failInfo badMessageCheck');

  // A wrong challenge, then a weak key with the right one: FAILURE answers, nothing issued, still running.
  const wrong = scepclient(join(ca.dir, 'wrong'), scepUrl, 'not-the-challenge');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.output, /failInfo: badRequest/);
  assert.ok(!existsSync(join(ca.dir, 'wrong', 'client.pem')));
  const weak = scepclient(join(ca.dir, 'weak'), scepUrl, challenge, 1024);
  assert.notEqual(weak.code, 0);
  assert.match(weak.output, /failInfo: badRequest/);
  assert.equal(JSON.parse(ca.ok(['list', '--json']).stdout).length, 0, 'nothing issued yet');

  // The right challenge: enrolled, and the server exits 0 after the watch window (15 s).
  const dir = join(ca.dir, 'good');
  const issuedAt = Date.now();
  const good = scepclient(dir, scepUrl, challenge);
  assert.equal(good.code, 0, good.output);
  // Within the watch window: the same client again (same key, so the same transaction ID) gets the same certificate.
  const first = readFileSync(join(dir, 'client.pem'));
  rmSync(join(dir, 'client.pem'));
  const again = scepclient(dir, scepUrl, challenge);
  assert.equal(again.code, 0, again.output);
  assert.ok(readFileSync(join(dir, 'client.pem')).equals(first), 'the same certificate, sent again');
  assert.equal(await withTimeout(proc.exited, 40_000, 'scep exit'), 0, proc.stderr());
  assert.ok(Date.now() - issuedAt >= 14_000, 'it listened for the watch window before exiting');
  assert.match(proc.stderr(), /issued [0-9a-f]+ to dev-phone at 127\.0\.0\.1; watching until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d\d:\d\d local\) for a second use of the challenge/);
  const stdout = proc.stdout();
  const summary = JSON.parse(stdout.slice(stdout.indexOf('\n') + 1));
  assert.equal(summary.subject, `CN=${NAME}`);
  assert.equal(summary.profile, 'client');
  assert.equal(summary.name, NAME);

  const certPath = join(dir, 'client.pem');
  const verify = openssl(['verify', '-purpose', 'sslclient', '-CAfile', join(ca.home, 'ca.pem'), certPath]);
  assert.equal(verify.code, 0, verify.stderr + verify.stdout);
  assert.equal(openssl(['x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'RFC2253']).stdout.trim(), `subject=CN=${NAME}`);
  const certKey = new X509Certificate(readFileSync(certPath)).publicKey.export({ type: 'spki', format: 'der' });
  const deviceKey = createPublicKey(readFileSync(join(dir, 'k.pem'))).export({ type: 'spki', format: 'der' });
  assert.ok(certKey.equals(deviceKey), 'the certificate carries the key scepclient made');
  const strip = (hex: string) => hex.toLowerCase().replace(/^0+/, '');
  assert.equal(strip(new X509Certificate(readFileSync(certPath)).serialNumber), strip(summary.serial));
  assert.equal(summary.pem, readFileSync(certPath, 'utf8').replace(/\r/g, ''));

  // scepclient asks for O, OU and C too: dropped, and said so (quoted and escaped, as sign does).
  assert.match(proc.stderr(), /warning: the device asked for the subject "C=US, O=scep-client, OU=MDM, CN=dev-phone"; issued as CN=dev-phone/);
  // Secrets stay out of the log on stderr.
  assert.ok(!proc.stderr().includes(token), 'token blanked');
  assert.ok(!proc.stderr().includes(challenge), 'challenge never printed');

  // list, show, log, revoke, CRL.
  const listed = JSON.parse(ca.ok(['list', '--json']).stdout);
  assert.equal(listed.length, 1);
  assert.equal(listed[0].serial, summary.serial);
  assert.equal(listed[0].status, 'valid');
  assert.equal(JSON.parse(ca.ok(['show', NAME, '--json']).stdout).serial, summary.serial);
  const events = JSON.parse(ca.ok(['log', '--json']).stdout).filter((e: { command: string }) => e.command === 'scep');
  const refusedEvents = events.filter((e: { outcome: string }) => e.outcome === 'refused').map((e: { detail: string }) => e.detail);
  assert.ok(refusedEvents.some((d: string) => /wrong challenge/.test(d)), refusedEvents.join('\n'));
  assert.ok(refusedEvents.some((d: string) => /RSA|1024|bits/.test(d)), refusedEvents.join('\n'));
  assert.ok(refusedEvents.some((d: string) => /unreadable PKIOperation/.test(d)), refusedEvents.join('\n'));
  assert.ok(refusedEvents.some((d: string) => /another CA/.test(d)), refusedEvents.join('\n'));
  const ok = events.filter((e: { outcome: string }) => e.outcome === 'ok');
  assert.equal(ok.length, 1);
  assert.equal(ok[0].serial, summary.serial);
  assert.match(ok[0].detail, /transaction \S+; to 127\.0\.0\.1/);
  // Recorded as SCEP-enrolled: show and list name the source.
  assert.equal(JSON.parse(ca.ok(['show', NAME, '--json']).stdout).source, 'scep');
  assert.match(ca.ok(['show', NAME]).stdout, /^issued\s+\S+ by scep$/m);
  assert.equal(listed[0].source, 'scep');
  assert.match(ca.ok(['list']).stdout, /dev-phone\s+client \(scep\)\s+valid/);
  // A NAME whose valid certificate is not SCEP-enrolled keeps issue's rule: exit 1 before anything (hint: revoke, or --force).
  ca.ok(['issue', 'laptop', '--out-dir', ca.out, '--no-mobileconfig']);
  const second = ca.run(['scep', 'laptop', '--out-dir', ca.dir, '--bind', '127.0.0.1', '--ttl', '2s']);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /error: laptop already has a valid certificate/);
  assert.match(second.stderr, /hint: .*pocketca revoke laptop.*--force/);
  assert.ok(!existsSync(join(ca.dir, 'laptop.mobileconfig')));
  ca.ok(['revoke', NAME]);
  assert.ok(crlEntryOf(ca, summary.serial), 'on the CRL');
});

test('scep: exit 1 at --ttl with nothing issued; --sign-profile signs the SCEP profile', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc } = await startScep(t, ca, ['--ttl', '2s', '--sign-profile']);
  assert.equal(await withTimeout(proc.exited, 15_000, 'scep exit'), 1);
  assert.match(proc.stderr(), /error: the enrollment expired \(--ttl 2s\) with no certificate issued/);
  assert.deepEqual(JSON.parse(ca.ok(['list', '--json', '--all']).stdout).map((c: { profile: string }) => c.profile), [], 'no device certificate');
  // --sign-profile: CMS SignedData that openssl verifies under the root, around the SCEP profile.
  const plain = join(ca.dir, 'plain.mobileconfig');
  const v = openssl(['cms', '-verify', '-inform', 'DER', '-in', join(ca.out, `${NAME}.mobileconfig`), '-CAfile', join(ca.home, 'ca.pem'), '-out', plain]);
  assert.equal(v.code, 0, v.stderr);
  assert.ok(readPlistWithPython(plain).PayloadContent.some((p: { PayloadType: string }) => p.PayloadType === 'com.apple.security.scep'));
  // Its challenge is spent: a new run replaces this device's earlier SCEP profile without --force.
  const before = readFileSync(join(ca.out, `${NAME}.mobileconfig`));
  const again = ca.run(['scep', NAME, '--out-dir', ca.out, '--bind', '127.0.0.1', '--ttl', '1s']);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /the enrollment expired/);
  assert.ok(!readFileSync(join(ca.out, `${NAME}.mobileconfig`)).equals(before), 'a new profile, with a new challenge');
});

test('scep: five refused PKIOperations end the enrollment (exit 1), nothing issued', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url } = await startScep(t, ca, ['--ttl', '60s']);
  for (let i = 0; i < 5; i++) await fetchRaw(url, `${url.pathname}/scep?operation=PKIOperation`, 'POST', Buffer.from([0x30, 0x03, 0x02, 0x01, i]));
  assert.equal(await withTimeout(proc.exited, 15_000, 'scep exit'), 1);
  assert.match(proc.stderr(), /error: 5 refused enrollment attempts/);
  assert.equal(JSON.parse(ca.ok(['list', '--json']).stdout).length, 0);
});

test('scep: an existing NAME.mobileconfig that is not its SCEP profile is kept (exit 1, hint --force); a bad --key-size and an --out-dir in the home are exit 2', (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  writeFileSync(join(ca.out, `${NAME}.mobileconfig`), 'mine');
  const r = ca.run(['scep', NAME, '--out-dir', ca.out, '--bind', '127.0.0.1', '--ttl', '2s']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /already exists[\s\S]*--force/);
  assert.equal(readFileSync(join(ca.out, `${NAME}.mobileconfig`), 'utf8'), 'mine');
  assert.equal(ca.run(['scep', NAME, '--key-size', '3072', '--out-dir', ca.dir, '--ttl', '2s']).code, 2);
  const inHome = ca.run(['scep', NAME, '--out-dir', ca.home, '--bind', '127.0.0.1', '--ttl', '2s']);
  assert.equal(inHome.code, 2, inHome.stderr);
  assert.ok(!existsSync(join(ca.home, `${NAME}.mobileconfig`)), 'nothing written into the CA home');
});

test('scep: an EC CA is exit 2 with a hint (SCEP encrypts to the CA with RSA), nothing written', (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  if (!ca.run(['init', '--help']).stdout.includes('--key-type')) return t.skip('init --key-type ec has not landed on this branch');
  const ecHome = join(ca.dir, 'ec-home');
  const init = pocketca(['init', '--key-type', 'ec', '--home', ecHome, '--passphrase-file', ca.passFile]);
  assert.equal(init.code, 0, init.stderr);
  const r = pocketca(['scep', NAME, '--home', ecHome, '--passphrase-file', ca.passFile, '--out-dir', ca.out, '--bind', '127.0.0.1', '--ttl', '2s']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /error: the CA key is EC/);
  assert.match(r.stderr, /hint: .*pocketca issue/);
  assert.ok(!existsSync(join(ca.out, `${NAME}.mobileconfig`)));
});

test('scep: a CSR whose signature fails is refused (FAILURE badRequest, recorded), then the same parts unbroken enroll by POST', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const { proc, url } = await startScep(t, ca, ['--ttl', '60s']);
  const challenge = challengeOf(ca, NAME);
  const caDer = new X509Certificate(readFileSync(join(ca.home, 'ca.pem'))).raw;
  const parts = pkcsReqParts(ca.dir, NAME, challenge);
  const post = async (message: Buffer) => {
    const r = await fetchRaw(url, `${url.pathname}/scep?operation=PKIOperation`, 'POST', message);
    assert.equal(r?.status, 200);
    return r!.body;
  };
  const printedStatus = (rep: Buffer) => {
    writeFileSync(join(ca.dir, 'rep.der'), rep);
    return openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(ca.dir, 'rep.der')]).stdout;
  };
  const badRep = await post(pkcsReq(parts, breakSignature(parts.csrDer), caDer, 'tx-broken'));
  assert.match(printedStatus(badRep), /2\.16\.840\.1\.113733\.1\.9\.4[\s\S]*?PRINTABLESTRING:2/, 'failInfo badRequest');
  assert.equal(JSON.parse(ca.ok(['list', '--json']).stdout).length, 0);

  const good = await post(pkcsReq(parts, parts.csrDer, caDer, 'tx-good'));
  assert.equal(parsePkiMessage(good).transactionId, 'tx-good');
  assert.match(printedStatus(good), /2\.16\.840\.1\.113733\.1\.9\.3[\s\S]*?PRINTABLESTRING:0/, 'pkiStatus SUCCESS');
  assert.equal(await withTimeout(proc.exited, 40_000, 'scep exit'), 0, proc.stderr());
  const events = JSON.parse(ca.ok(['log', '--json']).stdout).filter((e: { command: string }) => e.command === 'scep');
  assert.ok(events.some((e: { outcome: string; detail: string }) => e.outcome === 'refused' && /CSR signature does not verify \(transaction tx-broken\)/.test(e.detail)), JSON.stringify(events));
  assert.equal(events.filter((e: { outcome: string }) => e.outcome === 'ok').length, 1);
});

test('scep without --json: the steps on stderr, the QR code and the link last on stdout, as share does', (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const r = ca.run(['scep', NAME, '--out-dir', ca.out, '--bind', '127.0.0.1', '--ttl', '1s']);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[lines.length - 1]!, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{24}$/, 'the link is the last line');
  assert.ok(lines.length >= 15 && lines.slice(0, -1).every((l) => /[\u2580\u2584\u2588 ]/.test(l)), 'a QR code (half blocks) above it');
  assert.match(r.stderr, /open the link in Safari/);
  assert.match(r.stderr, /warning: --bind 127\.0\.0\.1 is this machine only/);
  assert.ok(!r.stderr.includes(lines[lines.length - 1]!.split('/').pop()!), 'the token stays off stderr');
});

/** PayloadIdentifier and PayloadUUID values of a profile, in document order. */
const profileIds = (path: string) => [...readFileSync(path, 'utf8').matchAll(/<key>Payload(?:Identifier|UUID)<\/key>\s*<string>([^<]+)<\/string>/g)].map((m) => m[1]);

test('scep NAME again renews in place (issue 19): same profile identifiers, the second enrollment succeeds, the first certificate revoked superseded on the CRL; renew NAME points to scep', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const first = await startScep(t, ca, ['--ttl', '60s']);
  const profile = join(ca.out, `${NAME}.mobileconfig`);
  const firstIds = profileIds(profile);
  const one = scepclient(join(ca.dir, 'one'), first.scepUrl, challengeOf(ca, NAME));
  assert.equal(one.code, 0, one.output);
  assert.equal(await withTimeout(first.proc.exited, 40_000, 'first scep'), 0, first.proc.stderr());
  const firstSerial = JSON.parse(ca.ok(['list', '--json']).stdout)[0].serial;

  // renew NAME of a SCEP-enrolled certificate: exit 2 before the passphrase, pointing to scep.
  const renew = pocketca(['renew', NAME, '--home', ca.home, '--out-dir', ca.dir]);
  assert.equal(renew.code, 2, renew.stderr);
  assert.match(renew.stderr, /error: certificate [0-9a-f]+ \(dev-phone\) was enrolled by SCEP/);
  assert.match(renew.stderr, /hint: renew it with pocketca scep dev-phone/);
  // issue NAME: the one-certificate rule, its hint naming scep (the key is on the device), not renew.
  const again = pocketca(['issue', NAME, '--home', ca.home, '--out-dir', join(ca.dir, 'again')]);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /error: dev-phone already has a valid certificate/);
  assert.match(again.stderr, /hint: its key is on the device: pocketca scep dev-phone renews it there/);

  // No --force: a renewal. The profile is replaced (a new challenge) and keeps its identifiers.
  const second = await startScep(t, ca, ['--ttl', '60s']);
  assert.match(second.proc.stderr(), new RegExp(`renewal: dev-phone's certificate ${firstSerial} \\(expires [0-9-]{10}\\) is revoked \\(superseded\\) once the device has its new one`));
  assert.deepEqual(profileIds(profile), firstIds, 'the device replaces the old profile');
  const two = scepclient(join(ca.dir, 'two'), second.scepUrl, challengeOf(ca, NAME));
  assert.equal(two.code, 0, two.output);
  assert.equal(await withTimeout(second.proc.exited, 40_000, 'second scep'), 0, second.proc.stderr());
  const out = second.proc.stdout();
  const summary = JSON.parse(out.slice(out.indexOf('\n') + 1));
  assert.deepEqual(summary.replaced, [{ serial: firstSerial, status: 'revoked', reason: 'superseded' }]);
  assert.equal(typeof summary.crlNumber, 'number');

  // openssl: the first certificate on the CRL as superseded, the second verifies with the CRL checked.
  assert.match(crlEntryOf(ca, firstSerial) ?? 'not listed', /CRL Reason Code:\s+Superseded/);
  assert.equal(crlEntryOf(ca, summary.serial), undefined);
  const caPem = join(ca.home, 'ca.pem');
  const crlPem = join(ca.home, 'crl.pem');
  assert.match(openssl(['verify', '-crl_check', '-CAfile', caPem, '-CRLfile', crlPem, join(ca.dir, 'one', 'client.pem')]).stdout + openssl(['verify', '-crl_check', '-CAfile', caPem, '-CRLfile', crlPem, join(ca.dir, 'one', 'client.pem')]).stderr, /certificate revoked/);
  assert.equal(openssl(['verify', '-crl_check', '-CAfile', caPem, '-CRLfile', crlPem, join(ca.dir, 'two', 'client.pem')]).code, 0);
  const valid = JSON.parse(ca.ok(['list', '--json']).stdout);
  assert.deepEqual(valid.map((c: { serial: string; source: string }) => [c.serial, c.source]), [[summary.serial, 'scep']], 'one valid certificate for NAME');
});

test('what sign would refuse is exit 2 before the profile is written or served (issue 16, item 9): --days past the CA, NAME outside the name constraints', (t) => {
  if (!tools(t)) return;
  const ca = createTestCa(['--days', '100']);
  t.after(() => ca.cleanup());
  // No passphrase is given: the checks come before it is asked.
  const scep = (home: string, args: string[]) => pocketca(['scep', ...args, '--home', home, '--out-dir', ca.out, '--bind', '127.0.0.1', '--ttl', '5s'], { timeoutMs: 20_000 });
  const long = scep(ca.home, ['longdev', '--days', '36000']);
  assert.equal(long.code, 2, long.stderr);
  assert.match(long.stderr, /error: the certificate would outlive the CA, which expires/);
  assert.match(long.stderr, /hint: use --days \d+ or less/);
  // The default 365 days outlive a CA of 100 days too.
  assert.equal(scep(ca.home, ['longdev']).code, 2);
  assert.equal(long.stdout, '', 'no link, no QR code');
  assert.ok(!existsSync(join(ca.out, 'longdev.mobileconfig')), 'no profile written');

  const constrained = createTestCa(['--permit-dns', 'home.arpa']);
  t.after(() => constrained.cleanup());
  const outside = scep(constrained.home, ['nas.example.org']);
  assert.equal(outside.code, 2, outside.stderr);
  assert.match(outside.stderr, /error: CN nas\.example\.org \(a host name to OpenSSL\) is outside the CA's name constraints/);
  assert.ok(!existsSync(join(ca.out, 'nas.example.org.mobileconfig')));
  assert.equal(JSON.parse(constrained.ok(['list', '--json', '--all']).stdout).length, 0);
});
