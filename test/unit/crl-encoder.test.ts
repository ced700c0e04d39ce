/**
 * The CRL encoder of issue 6: entries written straight into buffers, read
 * from a generator, times taken from the ISO text the store keeps. OpenSSL
 * must still verify a large CRL and list exactly its serials, and the fast
 * writer must write, entry by entry, what the general DER writer writes.
 * Fixed times, fixed serials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRootTbs } from '../../src/ca/certificate-profiles';
import { signTbs, signTbsParts } from '../../src/ca/signing';
import { encodeTbsCrl, encodeTbsCrlParts, REASON_CODES, type CrlEntry, type RevocationReason } from '../../src/formats/crl';
import { CrlFormatError, revokedSerialsOf } from '../../src/formats/crl-reader';
import { enumerated, explicit, sequence, sequenceOf, smallInteger, time, unsignedInteger } from '../../src/formats/der';
import { toPem, toPemBuffer, toPemBufferParts } from '../../src/formats/pem';
import { encodeName } from '../../src/formats/x500-name';
import { authorityKeyIdentifier, encodeExtension, OID, parseCertificate, SHA256_WITH_RSA } from '../../src/formats/x509';
import { openssl } from '../helpers/cli';

const NOW = new Date('2026-03-01T12:00:00.123Z');
const NEXT = new Date('2027-03-01T12:00:00Z');
const ISSUER = encodeName([{ type: 'CN', value: 'Unit Root' }]);
const KEY_ID = Buffer.alloc(20, 7);

/** The TBSCertList as the DER writer alone builds it: a Buffer per entry, a Date per time. */
function referenceTbs(entries: readonly CrlEntry[]): Buffer {
  const entry = (e: CrlEntry): Buffer => {
    const serial = unsignedInteger(Buffer.from(e.serial.length % 2 ? '0' + e.serial : e.serial, 'hex'));
    const revokedAt = time(new Date(e.revokedAt));
    if (e.reason === 'unspecified') return sequence(serial, revokedAt);
    return sequence(serial, revokedAt, sequence(encodeExtension({ oid: OID.cRLReason, critical: false, value: enumerated(REASON_CODES[e.reason]) })));
  };
  const parts = [smallInteger(1), SHA256_WITH_RSA, ISSUER, time(NOW), time(NEXT)];
  if (entries.length > 0) parts.push(sequenceOf(entries.map(entry)));
  parts.push(
    explicit(0, sequence(encodeExtension(authorityKeyIdentifier(KEY_ID)), encodeExtension({ oid: OID.cRLNumber, critical: false, value: smallInteger(7) }))),
  );
  return sequenceOf(parts);
}

const tbs = (entries: Iterable<CrlEntry>): Buffer =>
  encodeTbsCrl({ issuerDer: ISSUER, authorityKeyId: KEY_ID, crlNumber: 7, thisUpdate: NOW, nextUpdate: NEXT, entries });

/** What the store yields: 16-octet serials (top bits 01), ISO text, one in eight with a reason. */
function* storeRows(count: number): Generator<CrlEntry> {
  for (let i = 0; i < count; i++) {
    const serial = (0x40 + (i % 64)).toString(16) + i.toString(16).padStart(30, '0');
    const revokedAt = new Date(Date.UTC(2025, 0, 1) + i * 61_000).toISOString();
    yield { serial, revokedAt, reason: i % 8 === 0 ? 'keyCompromise' : i % 8 === 1 ? 'superseded' : 'unspecified' };
  }
}

test('a CRL of 20,000 streamed entries verifies with openssl crl -CAfile and lists exactly their serials', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const rootDer = signTbs(privateKey, buildRootTbs({ subjectDer: ISSUER, spkiDer, days: 3650, now: NOW, serial: Buffer.from('4000000000000000000000000000abcd', 'hex') }));
  const root = parseCertificate(rootDer);
  const crlDer = signTbs(
    privateKey,
    encodeTbsCrl({ issuerDer: root.subjectDer, authorityKeyId: root.keyId, crlNumber: 42, thisUpdate: NOW, nextUpdate: NEXT, entries: storeRows(20_000) }),
  );
  writeFileSync(join(dir, 'root.pem'), toPem('CERTIFICATE', rootDer));
  writeFileSync(join(dir, 'crl.pem'), toPemBuffer('X509 CRL', crlDer));

  // The text of 20,000 entries is megabytes: OpenSSL writes it to a file.
  const r = openssl(['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'root.pem'), '-text', '-out', join(dir, 'crl.txt')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /verify OK/);
  const text = readFileSync(join(dir, 'crl.txt'), 'utf8');
  assert.match(text, /CRL Number:\s+42/);
  const listed = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase());
  assert.deepEqual(listed, [...storeRows(20_000)].map((e) => e.serial), 'every serial, once, in order');
  assert.equal((text.match(/Key Compromise/g) ?? []).length, 2500);
  assert.equal((text.match(/Superseded/g) ?? []).length, 2500);
  assert.match(text, /Serial Number: 40000000000000000000000000000000\s+Revocation Date: Jan  1 00:00:00 2025 GMT/);
});

test('the fast entry writer writes what the general DER writer writes, for every kind of serial, time and reason', () => {
  const reasons = Object.keys(REASON_CODES) as RevocationReason[];
  const serials = ['7f', '80', '00ff', '0000', '00', 'abc', 'ABCDEF', '4a'.repeat(20), 'ff'.repeat(20), 'f'.repeat(41), 'zz12', ''];
  const times = [
    '2026-03-01T12:00:00.123Z', // what toISOString writes
    '2026-03-01T12:00:00Z', // no fraction
    '2026-03-01T12:00:59.999999Z', // the fraction is dropped, not rounded
    '2024-02-29T00:00:00.000Z', // a leap day
    '2026-02-30T00:00:00.000Z', // Date rolls it over into March; so must the CRL
    '2049-12-31T23:59:59.000Z', // the last UTCTime
    '2050-01-01T00:00:00.000Z', // GeneralizedTime from here (RFC 5280 §4.1.2.5)
    '1950-01-01T00:00:00.000Z',
  ];
  const entries: CrlEntry[] = [];
  serials.forEach((serial, i) => times.forEach((revokedAt, j) => entries.push({ serial, revokedAt, reason: reasons[(i + j) % reasons.length]! })));
  assert.deepEqual(tbs(entries), referenceTbs(entries));
  assert.deepEqual(tbs(entries.map((e) => ({ ...e, revokedAt: new Date(e.revokedAt) }))), referenceTbs(entries), 'Dates as well as text');
  assert.deepEqual(tbs([...storeRows(30_000)]), referenceTbs([...storeRows(30_000)]), 'across the writer’s buffers');
  assert.deepEqual(tbs([]), referenceTbs([]), 'no list at all when nothing is revoked (§5.1.2.6)');
  assert.throws(() => tbs([{ serial: '01', revokedAt: '1949-12-31T23:59:59.000Z', reason: 'unspecified' }]), RangeError);
  assert.throws(() => tbs([{ serial: '01', revokedAt: 'yesterday', reason: 'unspecified' }]), RangeError);
});

test('PEM: lines of 64 characters, the same text as bytes and as a string', () => {
  for (const size of [0, 1, 47, 48, 49, 96, 1000]) {
    const der = Buffer.alloc(size, size % 251);
    const pem = toPem('X509 CRL', der);
    assert.equal(toPemBuffer('X509 CRL', der).toString('latin1'), pem);
    const body = pem.split('\n').slice(1, -2);
    assert.ok(body.every((line, i) => line.length === (i < body.length - 1 ? 64 : line.length) && line.length <= 64));
    assert.equal(Buffer.from(body.join(''), 'base64').toString('hex'), der.toString('hex'));
  }
});

test('a CRL as parts (issue 13): the same TBS, the same signed bytes (RSA) or a verifying signature (EC), the same PEM', () => {
  const params = { issuerDer: ISSUER, authorityKeyId: KEY_ID, crlNumber: 7, thisUpdate: NOW, nextUpdate: NEXT };
  const parts = encodeTbsCrlParts({ ...params, entries: storeRows(30_000) });
  assert.ok(parts.length > 3, 'the revoked list stays in the chunks it was written in');
  assert.deepEqual(Buffer.concat(parts), referenceTbs([...storeRows(30_000)]));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const whole = signTbs(rsa, Buffer.concat(parts));
  assert.deepEqual(Buffer.concat(signTbsParts(rsa, parts)), whole, 'PKCS#1 v1.5 is deterministic: byte for byte');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ecParts = signTbsParts(ec.privateKey, parts);
  assert.deepEqual(ecParts.slice(1, 1 + parts.length), parts, 'the TBS, unchanged');
  const bitString = ecParts[ecParts.length - 1]!;
  const signature = bitString.subarray(bitString.length - (bitString.length - 3 - (bitString[1]! & 0x80 ? (bitString[1]! & 0x7f) : 0)));
  assert.ok(verify('sha384', Buffer.concat(parts), { key: ec.publicKey, dsaEncoding: 'der' }, signature), 'ECDSA-SHA384 over the streamed TBS');
  assert.deepEqual(Buffer.concat(ecParts).subarray(0, 2), signTbs(ec.privateKey, Buffer.concat(parts)).subarray(0, 2));
  for (const sizes of [[], [0], [1], [47, 1], [48], [49, 47], [1000, 3, 48 * 1024 + 5], [48 * 1024 * 2]]) {
    const pieces = sizes.map((n, i) => Buffer.from(Buffer.alloc(n, (i * 37 + n) % 251).map((b, j) => (b + j) % 256)));
    assert.equal(toPemBufferParts('X509 CRL', pieces).toString('latin1'), toPem('X509 CRL', Buffer.concat(pieces)), `parts of ${sizes.join(',')}`);
  }
});

test('a revocation is permanent: certificateHold and removeFromCRL are never written; an entry whose recorded reason is not a permanent one is listed without a reason (issue 16)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.ok(!Object.hasOwn(REASON_CODES, 'certificateHold') && !Object.hasOwn(REASON_CODES, 'removeFromCRL'), 'no reason code that can be undone');
  assert.ok(!(Object.values(REASON_CODES) as number[]).some((code) => code === 6 || code === 8));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const root = parseCertificate(signTbs(privateKey, buildRootTbs({ subjectDer: ISSUER, spkiDer, days: 3650, now: NOW, serial: Buffer.from('4000000000000000000000000000abcd', 'hex') })));
  // What a record changed by hand could hold: the store's reason column is free text.
  const entries = ['certificateHold', 'removeFromCRL', 'no such reason', 'keyCompromise'].map((reason, i) => ({ serial: `4${i}${'00'.repeat(14)}0${i}`, revokedAt: NOW, reason: reason as RevocationReason }));
  const crlDer = signTbs(privateKey, encodeTbsCrl({ issuerDer: root.subjectDer, authorityKeyId: root.keyId, crlNumber: 3, thisUpdate: NOW, nextUpdate: NEXT, entries }));
  writeFileSync(join(dir, 'root.pem'), toPem('CERTIFICATE', root.der));
  writeFileSync(join(dir, 'crl.pem'), toPemBuffer('X509 CRL', crlDer));
  const r = openssl(['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'root.pem'), '-noout', '-text']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /verify OK/);
  assert.deepEqual([...r.stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase()), entries.map((e) => e.serial), 'every one listed');
  assert.doesNotMatch(r.stdout, /Hold|Remove From CRL/i);
  assert.equal((r.stdout.match(/CRL Reason Code/g) ?? []).length, 1, 'only keyCompromise carries a reason');
  assert.deepEqual([...revokedSerialsOf(crlDer)].map((s) => s.toString('hex')), entries.map((e) => e.serial), 'read back by crl-reader as openssl reads them');
});

test('revokedSerialsOf: the serials as INTEGER content without leading zero octets; none for an empty CRL; a malformed one is CrlFormatError', () => {
  const entries: CrlEntry[] = ['00c1', '7f', '80', '0abc'].map((serial) => ({ serial, revokedAt: NOW, reason: 'unspecified' }));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const crl = (list: CrlEntry[]) => signTbs(privateKey, tbs(list));
  assert.deepEqual([...revokedSerialsOf(crl(entries))].map((s) => s.toString('hex')), ['c1', '7f', '80', '0abc']);
  assert.deepEqual([...revokedSerialsOf(crl([]))], []);
  const damaged = Buffer.from(crl(entries));
  damaged[1] = 0x7f;
  assert.throws(() => [...revokedSerialsOf(damaged)], CrlFormatError);
});
