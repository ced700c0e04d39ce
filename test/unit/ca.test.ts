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
import { validateName, sanitizeName } from '../../src/ca/names';
import { generateSerial, normalizeSerial } from '../../src/ca/serial';
import { generatePassword } from '../../src/ca/passwords';
import { buildEndEntityTbs, buildRootTbs, MAX_SERVER_DAYS } from '../../src/ca/certificate-profiles';
import { buildSubject } from '../../src/ca/subject';
import { signTbs } from '../../src/ca/signing';
import { encodeTbsCrl } from '../../src/formats/crl';
import { time, unsignedInteger } from '../../src/formats/der';
import { toPem } from '../../src/formats/pem';
import { encodeName } from '../../src/formats/x500-name';
import { ipToBytes, keyUsage, parseCertificate } from '../../src/formats/x509';
import { InvalidNameError, UsageError } from '../../src/errors';
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
