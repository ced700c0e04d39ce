import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, type TestCa } from '../helpers/cli';

/** A CSR made by openssl: `openssl req -new -newkey ... -subj SUBJ [-addext ...]`. */
function makeCsr(ca: TestCa, file: string, keyArgs: string[], subj: string, addext: string[] = []): string {
  const path = join(ca.dir, file);
  const r = openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', path + '.key', '-subj', subj, ...addext.flatMap((e) => ['-addext', e]), '-out', path]);
  assert.equal(r.code, 0, r.stderr);
  return path;
}

const countCerts = (ca: TestCa) => JSON.parse(ca.ok(['list', '--all', '--json']).stdout).length;

test('sign: RSA and EC CSRs (PEM, DER, stdin) become client certificates that openssl verifies', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const rsa = makeCsr(ca, 'rsa.csr', ['-newkey', 'rsa:2048'], '/CN=sensor 1/O=Shed');
  const pem = ca.ok(['sign', rsa]).stdout;
  assert.match(pem, /^-----BEGIN CERTIFICATE-----/);
  writeFileSync(join(ca.dir, 'rsa.pem'), pem);
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), '-purpose', 'sslclient', join(ca.dir, 'rsa.pem')]).code, 0);
  // The certificate carries the CSR's key.
  assert.equal(openssl(['x509', '-in', join(ca.dir, 'rsa.pem'), '-noout', '-pubkey']).stdout, openssl(['req', '-in', rsa, '-noout', '-pubkey']).stdout);
  const listed = JSON.parse(ca.ok(['show', 'sensor-1', '--json']).stdout);
  assert.equal(listed.subject, 'CN=sensor 1, O=Shed');
  assert.equal(listed.source, 'sign');

  const ec = makeCsr(ca, 'ec.csr', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/CN=tracker');
  openssl(['req', '-in', ec, '-outform', 'DER', '-out', ec + '.der']);
  const viaDer = JSON.parse(ca.ok(['sign', ec + '.der', '--name', 'tracker-der', '--json']).stdout);
  assert.equal(viaDer.name, 'tracker-der');
  writeFileSync(join(ca.dir, 'ec.pem'), viaDer.pem);
  const text = openssl(['x509', '-in', join(ca.dir, 'ec.pem'), '-noout', '-text']).stdout;
  assert.match(text, /id-ecPublicKey/);
  assert.match(text, /Key Usage: critical\s+Digital Signature\n/, 'no keyEncipherment for an EC key');
  assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), join(ca.dir, 'ec.pem')]).code, 0);

  const viaStdin = ca.ok(['sign', '-', '--name', 'from-stdin', '--out', join(ca.dir, 'stdin.pem')], { input: readFileSync(ec) });
  assert.match(viaStdin.stdout, /from-stdin/);
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), join(ca.dir, 'stdin.pem')]).code, 0);
});

test('sign never trusts requested extensions: CA:TRUE and SANs are dropped for a client', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const csr = makeCsr(ca, 'evil.csr', ['-newkey', 'rsa:2048'], '/CN=evil', [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
    'subjectAltName=DNS:bank.example',
  ]);
  const r = ca.ok(['sign', csr, '--out', join(ca.dir, 'evil.pem')]);
  assert.match(r.stderr, /warning: the CSR asked for CA:TRUE; ignored/);
  const text = openssl(['x509', '-in', join(ca.dir, 'evil.pem'), '-noout', '-text']).stdout;
  assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
  assert.doesNotMatch(text, /Certificate Sign/);
  assert.doesNotMatch(text, /bank\.example/);
  assert.match(text, /TLS Web Client Authentication/);
  // A certificate it signed cannot act as a CA.
  const sub = join(ca.dir, 'sub');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', sub + '.key', '-subj', '/CN=sub', '-out', sub + '.csr']);
  openssl(['x509', '-req', '-in', sub + '.csr', '-CA', join(ca.dir, 'evil.pem'), '-CAkey', csr + '.key', '-out', sub + '.pem', '-days', '1']);
  const chain = openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), '-untrusted', join(ca.dir, 'evil.pem'), sub + '.pem']);
  assert.notEqual(chain.code, 0);

  // For --profile server, SANs come from the CSR.
  const web = makeCsr(ca, 'web.csr', ['-newkey', 'rsa:2048'], '/CN=web', ['subjectAltName=DNS:web.home.arpa,IP:10.0.0.5']);
  const server = JSON.parse(ca.ok(['sign', web, '--profile', 'server', '--json']).stdout);
  writeFileSync(join(ca.dir, 'web.pem'), server.pem);
  assert.match(openssl(['x509', '-in', join(ca.dir, 'web.pem'), '-noout', '-ext', 'subjectAltName']).stdout, /DNS:web.home.arpa, IP Address:10.0.0.5/);
});

test('sign refuses forged, junk and oversized CSRs with exit 2 and records nothing', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const good = makeCsr(ca, 'good.csr', ['-newkey', 'rsa:2048'], '/CN=alice');
  const der = Buffer.from(readFileSync(good, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  // Forge: change the CN "alice" to "mallo" inside the signed part.
  const at = der.indexOf(Buffer.from('alice'));
  assert.ok(at > 0);
  const forged = Buffer.from(der);
  forged.write('mallo', at, 'ascii');
  writeFileSync(join(ca.dir, 'forged.der'), forged);
  const r1 = ca.run(['sign', join(ca.dir, 'forged.der')]);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /^error: CSR signature does not verify$/m);

  // A CSR signed by a different key than the one it carries.
  const other = makeCsr(ca, 'other.csr', ['-newkey', 'rsa:2048'], '/CN=alice');
  const otherDer = Buffer.from(readFileSync(other, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const swapped = Buffer.concat([der.subarray(0, der.length - 256), otherDer.subarray(otherDer.length - 256)]);
  writeFileSync(join(ca.dir, 'swapped.der'), swapped);
  const r2 = ca.run(['sign', join(ca.dir, 'swapped.der')]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /CSR signature does not verify/);

  writeFileSync(join(ca.dir, 'junk.csr'), 'hello, I am not a CSR\n');
  writeFileSync(join(ca.dir, 'badpem.csr'), '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n');
  writeFileSync(join(ca.dir, 'big.csr'), Buffer.alloc(5 * 1024 * 1024, 0x41));
  for (const [file, words] of [
    ['junk.csr', /not a valid certificate request|not a certificate request/],
    ['badpem.csr', /not a valid certificate request|not a certificate request/],
    ['big.csr', /bytes; a CSR is a few kilobytes/],
    ['missing.csr', /cannot read CSR/],
  ] as const) {
    const r = ca.run(['sign', join(ca.dir, file)]);
    assert.equal(r.code, 2, `${file}: ${r.stderr}`);
    assert.match(r.stderr, words);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  }
  const noCn = makeCsr(ca, 'nocn.csr', ['-newkey', 'rsa:2048'], '/O=NoName');
  const r3 = ca.run(['sign', noCn]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /no common name/);
  assert.equal(countCerts(ca), 0);
});
