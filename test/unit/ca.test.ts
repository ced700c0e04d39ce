/**
 * Pure certificate logic with fixed time and fixed randomness: names,
 * serials, passwords, validity, DER time encoding, CRL structure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateName, sanitizeName } from '../../src/formats/names';
import { generateSerial, normalizeSerial } from '../../src/ca/serial';
import { generatePassword } from '../../src/ca/passwords';
import { buildEndEntityTbs, buildRootTbs, MAX_SERVER_DAYS } from '../../src/ca/certificate-profiles';
import { canonicalPublicKey, describePublicKey } from '../../src/ca/public-key';
import { buildSubject, commonNameProblem, subjectForCsr } from '../../src/ca/subject';
import { validateDnsName, validateIp } from '../../src/ca/subject-alt-names';
import { signTbs } from '../../src/ca/signing';
import { encodeTbsCrl } from '../../src/formats/crl';
import { oid, time, unsignedInteger } from '../../src/formats/der';
import { toPem } from '../../src/formats/pem';
import { encodeName } from '../../src/formats/x500-name';
import { ipToBytes, keyUsage, parseCertificate } from '../../src/formats/x509';
import { InvalidNameError, InvalidSubjectError, KeyNotAcceptedError, UsageError } from '../../src/errors';
import { openssl } from '../helpers/cli';

const NOW = new Date('2026-03-01T12:00:00.123Z');
const counter = () => {
  let n = 0;
  return (size: number) => Buffer.alloc(size, ++n);
};

test('names: the SPEC pattern, nothing that could become a path', () => {
  for (const ok of ['a', 'alice-iphone', 'A.b_c-9', '9lives', 'x'.repeat(64)]) assert.equal(validateName(ok), ok);
  for (const bad of ['', '..', '../x', 'a/b', 'a\\b', '.x', '-x', '_x', 'x'.repeat(65), 'a b', 'caf\u00e9', 'a\nb', 'a\u0000b']) {
    assert.throws(() => validateName(bad), InvalidNameError, JSON.stringify(bad));
  }
  assert.equal(sanitizeName('sensor 1 / garage'), 'sensor-1-garage');
  assert.equal(sanitizeName('../../etc/passwd'), 'etc-passwd');
  assert.equal(sanitizeName('Café'), 'Cafe');
});

test('serials: positive, fixed length, 126 random bits; input in any notation', () => {
  const s = generateSerial(() => Buffer.alloc(16, 0xff));
  assert.equal(s[0], 0x7f);
  assert.equal(generateSerial(() => Buffer.alloc(16, 0))[0], 0x40);
  assert.equal(unsignedInteger(s)[1], 16, 'no pad byte needed');
  assert.equal(normalizeSerial('4A:BC:01'), '4abc01');
  assert.equal(normalizeSerial('0x004abc'), '4abc');
  assert.equal(normalizeSerial('abc'), '0abc');
  assert.equal(normalizeSerial('alice'), undefined);
});

test('generated PKCS#12 passwords: 4x4 Crockford base32, 80 bits', () => {
  const pw = generatePassword(counter());
  assert.match(pw, /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
  const all = new Set(Array.from({ length: 32 }, (_, i) => generatePassword(() => Buffer.alloc(16, i))[0]));
  assert.equal(all.size, 32, 'every byte value maps to one of 32 symbols');
});

test('DER time: UTCTime through 2049, GeneralizedTime from 2050, whole seconds', () => {
  assert.equal(time(new Date('2049-12-31T23:59:59Z')).toString('latin1', 2), '491231235959Z');
  assert.equal(time(new Date('2049-12-31T23:59:59Z'))[0], 0x17);
  assert.equal(time(new Date('2050-01-01T00:00:00Z'))[0], 0x18);
  assert.equal(time(new Date('2050-01-01T00:00:00Z')).toString('latin1', 2), '20500101000000Z');
});

test('keyUsage bits and IP addresses encode as RFC 5280 says', () => {
  assert.deepEqual(keyUsage(['digitalSignature', 'keyEncipherment']).value, Buffer.from([0x03, 0x02, 0x05, 0xa0]));
  assert.deepEqual(keyUsage(['keyCertSign', 'cRLSign']).value, Buffer.from([0x03, 0x02, 0x01, 0x06]));
  assert.deepEqual(keyUsage(['digitalSignature']).value, Buffer.from([0x03, 0x02, 0x07, 0x80]));
  assert.deepEqual(ipToBytes('192.168.1.10'), Buffer.from([192, 168, 1, 10]));
  assert.equal(ipToBytes('fd00::10').toString('hex'), 'fd000000000000000000000000000010');
  assert.equal(ipToBytes('::ffff:1.2.3.4').toString('hex'), '00000000000000000000ffff01020304');
});

test('root and end-entity certificates with fixed time: validity, limits, chain', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const rootDer = signTbs(privateKey, buildRootTbs({ subjectDer: encodeName([{ type: 'CN', value: 'Unit Root' }]), spkiDer, days: 3650, now: NOW, serial: generateSerial(counter()) }));
  const root = parseCertificate(rootDer);
  assert.equal(root.x509.validFrom, 'Mar  1 11:55:00 2026 GMT', 'backdated 5 minutes, whole seconds');
  const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
  const params = {
    profile: 'server' as const,
    subject: buildSubject('web'),
    spkiDer: leafKey,
    keyType: 'ec',
    sans: { dns: ['web.home.arpa'], ip: [], email: [] },
    days: MAX_SERVER_DAYS,
    now: NOW,
    serial: generateSerial(counter()),
  };
  const leafDer = signTbs(privateKey, buildEndEntityTbs(root, params));
  const leaf = new X509Certificate(leafDer);
  assert.ok(leaf.checkIssued(root.x509));
  assert.ok(leaf.verify(root.publicKey));
  assert.equal(leaf.validTo, 'Jun  3 11:55:00 2028 GMT');
  assert.throws(() => buildEndEntityTbs(root, { ...params, days: MAX_SERVER_DAYS + 1 }), UsageError);
  assert.throws(() => buildEndEntityTbs(root, { ...params, sans: { dns: [], ip: [], email: [] } }), /subject alternative name/);
  assert.throws(() => buildEndEntityTbs(root, { ...params, profile: 'client', days: 4000 }), /outlive the CA/);
  writeFileSync(join(dir, 'root.pem'), toPem('CERTIFICATE', rootDer));
  writeFileSync(join(dir, 'leaf.pem'), toPem('CERTIFICATE', leafDer));
  const v = openssl(['verify', '-attime', String(Date.parse('2026-06-01T00:00:00Z') / 1000), '-purpose', 'sslserver', '-CAfile', join(dir, 'root.pem'), join(dir, 'leaf.pem')]);
  assert.equal(v.code, 0, v.stderr + v.stdout);

  // A CRL with fixed times: entries in order, reason codes only where given, absent list when empty.
  const crlDer = signTbs(
    privateKey,
    encodeTbsCrl({
      issuerDer: root.subjectDer,
      authorityKeyId: root.keyId,
      crlNumber: 300,
      thisUpdate: NOW,
      nextUpdate: new Date('2026-04-01T00:00:00Z'),
      entries: [
        { serial: '4a01', revokedAt: NOW, reason: 'superseded' },
        { serial: '7f', revokedAt: NOW, reason: 'unspecified' },
      ],
    }),
  );
  writeFileSync(join(dir, 'crl.pem'), toPem('X509 CRL', crlDer));
  const text = openssl(['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'root.pem'), '-noout', '-text']);
  assert.match(text.stderr + text.stdout, /verify OK/);
  assert.match(text.stdout, /CRL Number:\s+300/);
  assert.match(text.stdout, /Last Update: Mar  1 12:00:00 2026 GMT/);
  assert.match(text.stdout, /Next Update: Apr  1 00:00:00 2026 GMT/);
  assert.match(text.stdout, /Serial Number: 4A01\s+Revocation Date: Mar  1 12:00:00 2026 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Superseded/);
  assert.match(text.stdout, /Serial Number: 7F\s+Revocation Date: Mar  1 12:00:00 2026 GMT\n(?!\s+CRL entry)/);
});

test('OIDs: the first two arcs share a subidentifier, base-128 when it exceeds 127 (X.690 §8.19.4)', () => {
  const { oid } = require('../../src/formats/der') as typeof import('../../src/formats/der');
  assert.equal(oid('1.2.840.113549.1.1.11').toString('hex'), '06092a864886f70d01010b');
  assert.equal(oid('2.5.29.19').toString('hex'), '0603551d13');
  assert.equal(oid('2.999.3').toString('hex'), '0603883703');
  assert.throws(() => oid('1.40'));
  assert.throws(() => oid('3.1'));
});

/** DER by hand for the unit cases: tag, length, content. */
const der = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  const len = body.length < 0x80 ? Buffer.from([body.length]) : body.length < 0x100 ? Buffer.from([0x81, body.length]) : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const atv = (type: string, tag: number, value: string | Buffer) => der(0x30, oid(type), der(tag, Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8')));
const CN = '2.5.4.3';
const O = '2.5.4.10';

test('subject builder: exactly CN=<cn>, UTF8String; one CN from a CSR, others dropped; code points, controls, string types', () => {
  const s = buildSubject('dave');
  assert.equal(s.text, 'CN=dave');
  assert.ok(s.der.equals(der(0x30, der(0x31, atv(CN, 0x0c, 'dave')))), 'one RDN, one UTF8String CN');
  assert.equal(buildSubject('\u{1F600}'.repeat(64)).commonName.length, 128, '64 code points are 128 UTF-16 units: allowed');
  for (const bad of ['', '   ', '\u{1F600}'.repeat(65), 'x'.repeat(65), 'a\u0000b', 'a\nb', 'a\u007fb', 'a\u0085b', 'a\u202eb', 'a\u2066b', 'a\ud800b']) {
    assert.throws(() => buildSubject(bad), InvalidSubjectError, JSON.stringify(bad));
  }
  assert.equal(commonNameProblem('x'.repeat(64)), undefined);

  // Issue 9's CSR subject: O, OU, CN. Unsorted multi-valued RDN (CN+O with O first), invalid PrintableString in O.
  const issue9 = der(0x30, der(0x31, atv(O, 0x0c, 'Admins')), der(0x31, atv('2.5.4.11', 0x0c, 'superuser')), der(0x31, atv(CN, 0x0c, 'dave')));
  assert.deepEqual({ text: subjectForCsr(issue9).subject.text, dropped: subjectForCsr(issue9).dropped }, { text: 'CN=dave', dropped: 'O=Admins, OU=superuser, CN=dave' });
  const unsorted = der(0x30, der(0x31, atv(O, 0x13, 'bad_printable@'), atv(CN, 0x13, 'dave')));
  assert.ok(subjectForCsr(unsorted).subject.der.equals(buildSubject('dave').der));
  assert.equal(subjectForCsr(der(0x30, der(0x31, atv(CN, 0x0c, 'dave')))).dropped, undefined, 'nothing dropped: no warning');
  const refusals: [Buffer, RegExp][] = [
    [der(0x30, der(0x31, atv(O, 0x0c, 'x'))), /no common name/],
    [der(0x30, der(0x31, atv(CN, 0x0c, 'a')), der(0x31, atv(CN, 0x0c, 'b'))), /2 common names \(CN="a", CN="b"\)/],
    [der(0x30, der(0x31, atv(CN, 0x0c, 'a'), atv(CN, 0x0c, 'b'))), /2 common names/],
    [der(0x30, der(0x31, atv(CN, 0x13, 'dave_1'))), /not a valid string of its ASN\.1 type \(tag 0x13\)/],
    [der(0x30, der(0x31, atv(CN, 0x16, Buffer.from([0x64, 0xe9])))), /tag 0x16/],
    [der(0x30, der(0x31, atv(CN, 0x1c, Buffer.from([0, 0, 0, 0x41])))), /tag 0x1c/],
    [der(0x30, der(0x31, atv(CN, 0x1e, Buffer.from([0xd8, 0x00])))), /tag 0x1e/],
    [der(0x30, der(0x31, atv(CN, 0x0c, 'a\u001bb'))), /"a\\u001bb" contains control characters/],
    [der(0x30, der(0x31, atv(CN, 0x0c, 'y'.repeat(65)))), /is 65 characters long/],
  ];
  for (const [name, words] of refusals) {
    assert.throws(() => subjectForCsr(name), (e: Error) => e instanceof InvalidSubjectError && words.test(e.message) && /--cn/.test((e as InvalidSubjectError).hint ?? ''), String(words));
    // --cn replaces whatever the CSR had.
    assert.equal(subjectForCsr(name, 'device').subject.text, 'CN=device');
  }
  assert.throws(() => subjectForCsr(issue9, 'a\u0007'), /--cn "a\\u0007" contains control characters/);
});

test('SANs: --dns refuses IP addresses and all-digit last labels (hint --ip), non-ASCII names with their A-label; --ip refuses zones', () => {
  for (const ip of ['192.168.1.30', 'fd00::10', '[fd00::10]', 'fe80::1%eth0', '::ffff:10.0.0.1']) {
    assert.throws(() => validateDnsName(ip), (e: UsageError) => /is an IP address, not a DNS name/.test(e.message) && /^use --ip /.test(e.hint ?? ''), ip);
  }
  for (const numeric of ['10.1', '1.2.3', 'host.123', '0x7f.1']) assert.throws(() => validateDnsName(numeric), UsageError, numeric);
  assert.throws(
    () => validateDnsName('bücher.example'),
    (e: UsageError) => e.message === 'invalid DNS name "bücher.example": a DNS SAN is ASCII' && e.hint === 'use its IDNA A-label form: --dns xn--bcher-kva.example',
  );
  assert.throws(() => validateDnsName('a\u0007.example'), (e: UsageError) => e.message === 'invalid DNS name "a\\u0007.example"');
  for (const ok of ['cloud.home.arpa', '*.home.arpa', 'xn--bcher-kva.example', 'host1', '1host.example', '123abc']) assert.equal(validateDnsName(ok), ok);
  assert.equal(validateDnsName('Cloud.Home.ARPA'), 'cloud.home.arpa');
  assert.throws(() => validateIp('fe80::1%eth0'), (e: UsageError) => /cannot carry a zone suffix/.test(e.message) && e.hint === 'use --ip fe80::1');
  assert.throws(() => validateIp('fe80::1%'), UsageError);
  assert.throws(() => validateIp('cloud.home.arpa'), UsageError);
  for (const ok of ['10.0.0.5', 'fd00::10', '::ffff:10.0.0.1']) assert.equal(validateIp(ok), ok);
});

/** RSA SPKI from raw parts: the modulus bytes, the exponent, and whether the NULL parameters are there. */
const rsaSpki = (n: Buffer, e: Buffer, withNull = true) =>
  der(0x30, der(0x30, oid('1.2.840.113549.1.1.1'), ...(withNull ? [Buffer.from([5, 0])] : [])), der(0x03, Buffer.from([0]), der(0x30, unsignedInteger(n), unsignedInteger(e))));

test('public keys: RSA 2048-8192 with e in [65537, 2^31-1] odd, P-256/P-384, Ed25519 accepted and canonical; the rest refused', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const rsaDer = rsa.export({ type: 'spki', format: 'der' });
  const accepted = canonicalPublicKey(rsaDer);
  assert.equal(accepted.kind, 'rsa');
  assert.ok(accepted.spkiDer.equals(rsaDer), 'a canonical key comes back byte for byte');
  assert.equal(describePublicKey(accepted), 'RSA 2048');
  const jwk = rsa.export({ format: 'jwk' });
  const n = Buffer.from(jwk.n!, 'base64url');
  const e = Buffer.from(jwk.e!, 'base64url');
  // No NULL parameters, or a modulus with a redundant leading zero octet: re-encoded to the canonical bytes.
  assert.ok(canonicalPublicKey(rsaSpki(n, e, false)).spkiDer.equals(rsaDer));
  const padded = der(0x30, der(0x30, oid('1.2.840.113549.1.1.1'), Buffer.from([5, 0])), der(0x03, Buffer.from([0]), der(0x30, der(0x02, Buffer.concat([Buffer.from([0, 0]), n])), unsignedInteger(e))));
  assert.ok(canonicalPublicKey(padded).spkiDer.equals(rsaDer));
  const refuse = (spki: Buffer, words: RegExp) => assert.throws(() => canonicalPublicKey(spki), (x: Error) => x instanceof KeyNotAcceptedError && words.test(x.message), String(words));
  refuse(rsaSpki(Buffer.alloc(128, 0xff), e), /an RSA key of 1024 bits is too weak/);
  refuse(rsaSpki(Buffer.concat([Buffer.from([1]), Buffer.alloc(1024, 0xff)]), e), /an RSA key of 8193 bits is too large/);
  refuse(rsaSpki(n, Buffer.from([3])), /public exponent of 3 is not accepted/);
  refuse(rsaSpki(n, Buffer.from([1, 0, 0])), /public exponent of 65536/);
  refuse(rsaSpki(n, Buffer.from([0x80, 0, 0, 1])), /public exponent of 2147483649/);
  refuse(der(0x30, der(0x30, oid('1.2.840.113549.1.1.1'), der(0x02, Buffer.from([0]))), der(0x03, Buffer.from([0]), der(0x30, unsignedInteger(n), unsignedInteger(e)))), /parameters other than NULL/);

  for (const [namedCurve, curve] of [['P-256', 'P-256'], ['P-384', 'P-384']] as const) {
    const spki = generateKeyPairSync('ec', { namedCurve }).publicKey.export({ type: 'spki', format: 'der' });
    const key = canonicalPublicKey(spki);
    assert.deepEqual([key.kind, key.kind === 'ec' && key.curve], ['ec', curve]);
    assert.ok(key.spkiDer.equals(spki));
    // A point off the curve: OpenSSL refuses it.
    const off = Buffer.from(spki);
    off[off.length - 1] ^= 1;
    refuse(off, /malformed/);
  }
  for (const [namedCurve, words] of [['prime192v1', /an EC key on P-192/], ['secp521r1', /an EC key on P-521/], ['secp256k1', /an EC key on secp256k1/], ['brainpoolP256r1', /brainpoolP256r1/]] as const) {
    refuse(generateKeyPairSync('ec', { namedCurve }).publicKey.export({ type: 'spki', format: 'der' }), words);
  }
  const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  assert.ok(canonicalPublicKey(ed).spkiDer.equals(ed));
  refuse(generateKeyPairSync('ed448').publicKey.export({ type: 'spki', format: 'der' }), /an Ed448 key is not accepted/);
  refuse(generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }), /X25519/);
  refuse(generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).publicKey.export({ type: 'spki', format: 'der' }), /a DSA key is not accepted/);
  refuse(Buffer.from([0x30, 0x03, 0x30, 0x01]), /malformed/);
  refuse(Buffer.concat([ed, Buffer.from([0])]), /malformed/);
});
