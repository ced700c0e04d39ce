import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, type TestCa } from '../helpers/cli';
import { goX509 } from '../helpers/go-x509';
import { withDatabase } from '../helpers/guarantees';
import { canMakeHostileCsrs, makeHostileCsr, OIDS, utf8, type HostileCsrSpec } from '../helpers/hostile-csr';
import { requireTool } from '../helpers/tools';

/** A CSR made by openssl: `openssl req -new -newkey ... -subj SUBJ [-addext ...]`. */
function makeCsr(ca: TestCa, file: string, keyArgs: string[], subj: string, addext: string[] = []): string {
  const path = join(ca.dir, file);
  const r = openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', path + '.key', '-subj', subj, ...addext.flatMap((e) => ['-addext', e]), '-out', path]);
  assert.equal(r.code, 0, r.stderr);
  return path;
}

const countCerts = (ca: TestCa) => JSON.parse(ca.ok(['list', '--all', '--json']).stdout).length;
/** Certificates in the database itself, not only what `list` shows. */
const countRows = (ca: TestCa): number => withDatabase(ca.home, (db) => db.prepare('SELECT COUNT(*) FROM certificates').pluck().get() as number);

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
  assert.equal(listed.subject, 'CN=sensor 1', 'only the CN is kept');
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

/** The subject as openssl prints it in RFC 2253 form (what a proxy passes as X-SSL-Client-S-DN). */
const subjectOf = (pemFile: string) => openssl(['x509', '-in', pemFile, '-noout', '-subject', '-nameopt', 'RFC2253']).stdout.trim();

/** The certificate's SubjectPublicKeyInfo, DER, as openssl re-exports it. */
const certSpki = (pemFile: string) => Buffer.from(openssl(['x509', '-in', pemFile, '-noout', '-pubkey']).stdout.replace(/-----[^-]+-----|\s/g, ''), 'base64');
/** The SPKI openssl writes for a private key file (its canonical form). */
const keySpki = (keyFile: string) => Buffer.from(openssl(['pkey', '-in', keyFile, '-pubout']).stdout.replace(/-----[^-]+-----|\s/g, ''), 'base64');
/** The children of the DER SEQUENCE at `at` (definite lengths; enough for certificates and CSRs). */
function derChildren(der: Buffer, at = 0): { start: number; end: number }[] {
  const header = (pos: number) => {
    const first = der[pos + 1]!;
    const n = first & 0x80 ? first & 0x7f : 0;
    let len = n ? 0 : first;
    for (let i = 0; i < n; i++) len = len * 256 + der[pos + 2 + i]!;
    return { body: pos + 2 + n, end: pos + 2 + n + len };
  };
  const outer = header(at);
  const out: { start: number; end: number }[] = [];
  for (let pos = outer.body; pos < outer.end; pos = header(pos).end) out.push({ start: pos, end: header(pos).end });
  return out;
}
const pemDer = (file: string) => Buffer.from(readFileSync(file, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
/** The SubjectPublicKeyInfo bytes the certificate holds (TBSCertificate field 7, after [0] version). */
function certSpkiAsWritten(pemFile: string): Buffer {
  const der = pemDer(pemFile);
  const spki = derChildren(der, derChildren(der)[0]!.start)[6]!;
  return der.subarray(spki.start, spki.end);
}
/** The SubjectPublicKeyInfo bytes a DER CSR carries (CertificationRequestInfo field 3). */
function csrSpkiAsSent(derFile: string): Buffer {
  const der = readFileSync(derFile);
  const spki = derChildren(der, derChildren(der)[0]!.start)[2]!;
  return der.subarray(spki.start, spki.end);
}

test('sign builds the subject: O, OU, emailAddress and multi-valued RDN members dropped, exactly CN=<cn> as a UTF8String', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // Issue 9: this CSR used to give X-SSL-Client-S-DN "CN=dave,OU=superuser,O=Admins".
  const csr = makeCsr(ca, 'dave.csr', ['-newkey', 'rsa:2048'], '/O=Admins/OU=superuser/emailAddress=root@home.arpa/CN=dave');
  const out = join(ca.dir, 'dave.pem');
  const r = ca.ok(['sign', csr, '--out', out]);
  assert.equal(subjectOf(out), 'subject=CN=dave');
  assert.match(r.stdout, /^signed client certificate [0-9a-f]+ for dave \(CN=dave\) -> /m, 'the human output names the full subject');
  assert.match(r.stderr, /^warning: the CSR asked for subject "O=Admins, OU=superuser, emailAddress=root@home.arpa, CN=dave" \(issued as CN=dave\); ignored$/m);
  const parsed = openssl(['asn1parse', '-in', out]).stdout;
  assert.match(parsed, /:commonName\s*\n.*prim: UTF8STRING\s*:dave\s*\n/, 'the CN is a UTF8String pocketca wrote');
  assert.doesNotMatch(parsed, /Admins|superuser|root@home/);
  assert.equal(JSON.parse(ca.ok(['show', 'dave', '--json']).stdout).subject, 'CN=dave');

  // A multi-valued RDN: CN=dave+O=Admins becomes CN=dave; --cn replaces the CSR's CN.
  const multi = makeCsr(ca, 'multi.csr', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/CN=dave+O=Admins', []);
  openssl(['req', '-in', multi, '-noout']);
  const viaMulti = JSON.parse(ca.ok(['sign', multi, '--name', 'dave-multi', '--json']).stdout);
  assert.equal(viaMulti.subject, 'CN=dave');
  writeFileSync(join(ca.dir, 'multi.pem'), viaMulti.pem);
  assert.equal(subjectOf(join(ca.dir, 'multi.pem')), 'subject=CN=dave');
  const toStdout = ca.ok(['sign', csr, '--name', 'dave-stdout']);
  assert.match(toStdout.stdout, /^-----BEGIN CERTIFICATE-----\n[^]*-----END CERTIFICATE-----\n$/, 'stdout carries the PEM alone');
  assert.match(toStdout.stderr, /^signed client certificate [0-9a-f]+ for dave-stdout \(CN=dave\)$/m, 'stderr names the full subject');
  const renamed = JSON.parse(ca.ok(['sign', csr, '--cn', 'Dave Laptop', '--json']).stdout);
  assert.equal(renamed.subject, 'CN=Dave Laptop');
  assert.equal(renamed.name, 'Dave-Laptop', 'the record name follows the CN');
  writeFileSync(join(ca.dir, 'renamed.pem'), renamed.pem);
  assert.equal(subjectOf(join(ca.dir, 'renamed.pem')), 'subject=CN=Dave Laptop');
});

test('an unsorted multi-valued RDN and an invalid PrintableString outside the CN: accepted as exactly CN=dave, which Go parses', (t) => {
  if (!requireTool(t, 'openssl') || !canMakeHostileCsrs(t)) return;
  const go = goX509(t);
  if (!go) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // DER requires a SET's members sorted by their encoding (X.690 §11.6): O (2.5.4.10) sorts after CN (2.5.4.3).
  const csr = makeHostileCsr(ca.dir, 'unsorted.der', {
    key: { type: 'ec', curve: 'secp256r1' },
    subject: [[[OIDS.OU, 0x13, Buffer.from('super_user@')]], [utf8(OIDS.O, 'Admins'), utf8(OIDS.CN, 'dave')]],
  });
  const pem = join(ca.dir, 'unsorted.pem');
  const r = ca.ok(['sign', csr, '--out', pem]);
  assert.match(r.stderr, /the CSR asked for subject "OU=super_user@, O=Admins, CN=dave" \(issued as CN=dave\); ignored/);
  assert.equal(subjectOf(pem), 'subject=CN=dave');
  const verdict = go.verify({ rootPem: readFileSync(join(ca.home, 'ca.pem'), 'utf8'), leafPem: readFileSync(pem, 'utf8') });
  assert.ok(verdict.parsed && verdict.verified, verdict.error);
  assert.equal(verdict.subject, 'CN=dave');
});

test('sign refuses two CNs, control characters, a CN over 64 code points and an invalid PrintableString (exit 2, nothing recorded) unless --cn', (t) => {
  if (!requireTool(t, 'openssl') || !canMakeHostileCsrs(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const ed = ['-newkey', 'ed25519'];
  const cases: { what: string; csr: string; words: RegExp }[] = [
    { what: 'two CNs', csr: makeCsr(ca, 'two.csr', ed, '/CN=dave/CN=admin'), words: /^error: the CSR's subject has 2 common names \(CN="dave", CN="admin"\); pocketca certifies one$/m },
    { what: 'a BEL in the CN', csr: makeCsr(ca, 'bel.csr', [...ed, '-utf8'], '/CN=dave\u0007'), words: /^error: the CSR's CN "dave\\u0007" contains control characters$/m },
    { what: 'an escape sequence in the CN', csr: makeCsr(ca, 'esc.csr', [...ed, '-utf8'], '/CN=dave\u001b[2J'), words: /contains control characters/ },
    {
      what: 'a right-to-left override',
      csr: makeHostileCsr(ca.dir, 'rlo.der', { key: { type: 'ed25519' }, subject: [[utf8(OIDS.CN, 'dave\u202egnp.exe')]] }),
      words: /the CSR's CN "dave\\u202egnp\.exe" contains control characters/,
    },
    {
      what: '65 characters',
      csr: makeHostileCsr(ca.dir, 'long.der', { key: { type: 'ed25519' }, subject: [[utf8(OIDS.CN, 'x'.repeat(65))]] }),
      words: /the CSR's CN "x{65}" is 65 characters long; a CN has at most 64/,
    },
    {
      what: '65 emoji (130 UTF-16 units)',
      csr: makeHostileCsr(ca.dir, 'emoji65.der', { key: { type: 'ed25519' }, subject: [[utf8(OIDS.CN, '\u{1F600}'.repeat(65))]] }),
      words: /is 65 characters long/,
    },
    {
      what: 'an invalid PrintableString',
      csr: makeHostileCsr(ca.dir, 'printable.der', { key: { type: 'ed25519' }, subject: [[[OIDS.CN, 0x13, Buffer.from('dave_admin@x')]]] }),
      words: /the CSR's CN "dave_admin@x" is not a valid string of its ASN\.1 type \(tag 0x13\)/,
    },
  ];
  for (const c of cases) {
    const r = ca.run(['sign', c.csr]);
    assert.equal(r.code, 2, `${c.what}: ${r.stderr}`);
    assert.match(r.stderr, c.words, c.what);
    assert.match(r.stderr, /^hint: give the certificate its CN with --cn NAME/m, `${c.what}: the hint names --cn`);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/, `${c.what}: no raw control character on stderr`);
  }
  const badCn = ca.run(['sign', cases[0]!.csr, '--cn', 'bad\u0007cn']);
  assert.equal(badCn.code, 2);
  assert.match(badCn.stderr, /^error: --cn "bad\\u0007cn" contains control characters$/m);
  assert.deepEqual(JSON.parse(ca.ok(['list', '--all', '--json']).stdout), [], 'nothing recorded');
  assert.equal(countRows(ca), 0);

  // The edges that are fine: 64 code points (128 UTF-16 units), a BMPString CN.
  const emoji64 = makeHostileCsr(ca.dir, 'emoji64.der', { key: { type: 'ed25519' }, subject: [[utf8(OIDS.CN, '\u{1F600}'.repeat(64))]] });
  assert.equal(JSON.parse(ca.ok(['sign', emoji64, '--name', 'emoji', '--json']).stdout).subject, 'CN=' + '\u{1F600}'.repeat(64));
  const bmp = makeHostileCsr(ca.dir, 'bmp.der', { key: { type: 'ed25519' }, subject: [[[OIDS.CN, 0x1e, Buffer.from('d\u00e4ve', 'utf16le').swap16()]]] });
  const bmpPem = join(ca.dir, 'bmp.pem');
  ca.ok(['sign', bmp, '--out', bmpPem]);
  assert.doesNotMatch(openssl(['asn1parse', '-in', bmpPem]).stdout, /BMPSTRING/, 're-encoded as a UTF8String');
  assert.equal(subjectOf(bmpPem), 'subject=CN=d\\C3\\A4ve');
  // --cn rescues each refused CSR: the subject is then exactly CN=<--cn>.
  for (const [i, c] of cases.entries()) {
    const ok = JSON.parse(ca.ok(['sign', c.csr, '--cn', `device-${i}`, '--json']).stdout);
    assert.equal(ok.subject, `CN=device-${i}`, c.what);
  }
  assert.equal(countRows(ca), 2 + cases.length);
});

test('sign checks the key: RSA-1024/512, P-192, P-521, secp256k1, DSA and Ed448 refused (exit 2, nothing recorded)', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const dsaParams = join(ca.dir, 'dsa.params');
  assert.equal(openssl(['genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:2048', '-out', dsaParams]).code, 0);
  const ec = (curve: string) => ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`];
  const cases: [string, string[], RegExp][] = [
    ['rsa-1024', ['-newkey', 'rsa:1024'], /^error: an RSA key of 1024 bits is too weak: pocketca certifies RSA 2048-8192 bits, ECDSA P-256 or P-384, or Ed25519$/m],
    ['rsa-512', ['-newkey', 'rsa:512'], /an RSA key of 512 bits is too weak/],
    ['p-192', ec('P-192'), /^error: an EC key on P-192: pocketca certifies/m],
    ['p-521', ec('P-521'), /an EC key on P-521/],
    ['secp256k1', ec('secp256k1'), /an EC key on secp256k1/],
    ['dsa', ['-newkey', `dsa:${dsaParams}`], /^error: a DSA key is not accepted: pocketca certifies/m],
    ['ed448', ['-newkey', 'ed448'], /an Ed448 key is not accepted/],
  ];
  for (const [what, keyArgs, words] of cases) {
    const csr = makeCsr(ca, `${what}.csr`, keyArgs, `/CN=${what}`);
    const r = ca.run(['sign', csr, '--json']);
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, words, what);
    assert.match(r.stderr, /^hint: make the key with/m);
    assert.equal(r.stdout, '', `${what}: no JSON`);
  }
  assert.deepEqual(JSON.parse(ca.ok(['list', '--all', '--json']).stdout), [], 'nothing recorded');
  assert.equal(countRows(ca), 0);
  const refused = JSON.parse(ca.ok(['log', '--json']).stdout).filter((e: { outcome: string }) => e.outcome === 'refused');
  assert.equal(refused.length, cases.length, 'each refusal is in the audit log');
});

test('sign re-encodes the key: RSA without NULL parameters gets them, a compressed P-256 point is written uncompressed', (t) => {
  if (!requireTool(t, 'openssl') || !canMakeHostileCsrs(t)) return;
  const go = goX509(t);
  if (!go) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const rootPem = readFileSync(join(ca.home, 'ca.pem'), 'utf8');
  for (const [what, spec] of [
    ['rsa-no-null', { key: { type: 'rsa', bits: 2048 }, subject: [[utf8(OIDS.CN, 'rsa-no-null')]], spki: 'rsa-no-null' }],
    ['ec-compressed', { key: { type: 'ec', curve: 'secp256r1' }, subject: [[utf8(OIDS.CN, 'ec-compressed')]], spki: 'ec-compressed' }],
  ] as [string, HostileCsrSpec][]) {
    const csr = makeHostileCsr(ca.dir, `${what}.der`, spec);
    const csrKey = openssl(['req', '-inform', 'DER', '-in', csr, '-noout', '-verify']);
    assert.match(csrKey.stdout + csrKey.stderr, /verify OK/, `${what}: openssl reads the CSR and its signature`);
    const pem = join(ca.dir, `${what}.pem`);
    ca.ok(['sign', csr, '--out', pem]);
    const tbsSpki = certSpkiAsWritten(pem);
    assert.ok(tbsSpki.equals(keySpki(csr + '.key')), `${what}: the certificate's key is the canonical encoding of the device's key`);
    assert.ok(!tbsSpki.equals(csrSpkiAsSent(csr)), `${what}: the CSR's bytes were not copied`);
    assert.ok(certSpki(pem).equals(tbsSpki));
    const verdict = go.verify({ rootPem, leafPem: readFileSync(pem, 'utf8'), usage: 'clientAuth' });
    assert.ok(verdict.parsed && verdict.verified, `${what}: Go's crypto/x509: ${verdict.error}`);
  }
  const noNull = openssl(['asn1parse', '-in', join(ca.dir, 'rsa-no-null.pem')]).stdout;
  assert.match(noNull, /:rsaEncryption\s*\n.*NULL/, 'rsaEncryption with NULL parameters');
});

test('--dns refuses an IP address (hint --ip), --ip refuses a zone suffix, for issue and sign and a server CSR; nothing recorded', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const csr = makeCsr(ca, 'web.csr', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/CN=web');
  const ipInCsr = makeCsr(ca, 'ipdns.csr', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/CN=web', ['subjectAltName=DNS:192.168.1.30']);
  const runs: { args: string[]; words: RegExp; hint: RegExp }[] = [];
  for (const base of [['sign', csr, '--profile', 'server'], ['issue', 'web', '--profile', 'server']]) {
    runs.push({ args: [...base, '--dns', '192.168.1.30'], words: /^error: "192\.168\.1\.30" is an IP address, not a DNS name$/m, hint: /^hint: use --ip 192\.168\.1\.30 for an IP address SAN$/m });
    runs.push({ args: [...base, '--dns', 'fd00::10'], words: /"fd00::10" is an IP address, not a DNS name/, hint: /use --ip fd00::10/ });
    runs.push({ args: [...base, '--dns', '10.1'], words: /invalid DNS name "10\.1": its last label is all digits/, hint: /--ip/ });
    runs.push({ args: [...base, '--ip', 'fe80::1%eth0'], words: /^error: invalid IP address "fe80::1%eth0": a certificate cannot carry a zone suffix$/m, hint: /^hint: use --ip fe80::1$/m });
    runs.push({ args: [...base, '--dns', 'bücher.example'], words: /^error: invalid DNS name "bücher\.example": a DNS SAN is ASCII$/m, hint: /^hint: use its IDNA A-label form: --dns xn--bcher-kva\.example$/m });
  }
  runs.push({ args: ['sign', ipInCsr, '--profile', 'server'], words: /"192\.168\.1\.30" is an IP address, not a DNS name/, hint: /--ip 192\.168\.1\.30/ });
  for (const run of runs) {
    const r = ca.run(run.args);
    assert.equal(r.code, 2, `${run.args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, run.words, run.args.join(' '));
    assert.match(r.stderr, run.hint, run.args.join(' '));
  }
  assert.deepEqual(JSON.parse(ca.ok(['list', '--all', '--json']).stdout), [], 'nothing recorded');
  assert.deepEqual(readdirSync(ca.out), [], 'nothing written');
  // What is right goes through: the IP as an IP SAN.
  const ok = join(ca.dir, 'web.pem');
  ca.ok(['sign', ipInCsr, '--profile', 'server', '--ip', '192.168.1.30', '--dns', 'web.home.arpa', '--out', ok]);
  assert.match(openssl(['x509', '-in', ok, '-noout', '-ext', 'subjectAltName']).stdout, /DNS:web\.home\.arpa, IP Address:192\.168\.1\.30/);
});

test("Go's crypto/x509 parses and verifies (clientAuth) what sign issues for RSA, P-256, P-384 and Ed25519 CSRs", (t) => {
  if (!requireTool(t, 'openssl')) return;
  const go = goX509(t);
  if (!go) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const rootPem = readFileSync(join(ca.home, 'ca.pem'), 'utf8');
  const keys: [string, string[], string][] = [
    ['rsa', ['-newkey', 'rsa:2048'], 'RSA'],
    ['p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ECDSA'],
    ['p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ECDSA'],
    ['ed25519', ['-newkey', 'ed25519'], 'Ed25519'],
  ];
  for (const [what, keyArgs, algorithm] of keys) {
    // The multi-attribute subject of issue 9, on every key type.
    const csr = makeCsr(ca, `${what}.csr`, keyArgs, `/O=Admins/OU=superuser/CN=${what}-device`);
    const signed = JSON.parse(ca.ok(['sign', csr, '--json']).stdout);
    const verdict = go.verify({ rootPem, leafPem: signed.pem, usage: 'clientAuth' });
    assert.ok(verdict.parsed, `${what}: Go parses it: ${verdict.error}`);
    assert.ok(verdict.verified, `${what}: Go verifies it for clientAuth: ${verdict.error}`);
    assert.equal(verdict.subject, `CN=${what}-device`);
    assert.equal(verdict.publicKeyAlgorithm, algorithm);
    // The checker can say no: a client certificate is not a server certificate.
    const asServer = go.verify({ rootPem, leafPem: signed.pem, usage: 'serverAuth' });
    assert.ok(asServer.parsed && !asServer.verified, `${what}: not valid for serverAuth`);
    assert.match(asServer.error ?? '', /incompatible key usage/);
  }
});
