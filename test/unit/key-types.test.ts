/**
 * The key abstraction (src/ca/key-types.ts): which flags resolve to which
 * key, what a CA key signs with, and that its signatures are what X.509
 * carries (checked with Node's verifier here; openssl and Go check signed
 * certificates and CRLs in test/e2e/ec-keys.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { generateKey, keySpecOf, leafKeyUsage, resolveKeySpec, signatureAlgorithmOf, signWithKey, verifyWithKey } from '../../src/ca/key-types';
import { UsageError } from '../../src/errors';
import { readChildren, readOid, readTlv } from '../../src/formats/der-reader';

test('resolveKeySpec: RSA by default, EC on P-256 unless told; renew follows the old key', () => {
  assert.deepEqual(resolveKeySpec({}, 2048), { type: 'rsa', bits: 2048 });
  assert.deepEqual(resolveKeySpec({ keySize: 4096 }, 2048), { type: 'rsa', bits: 4096 });
  assert.deepEqual(resolveKeySpec({ keyType: 'ec' }, 2048), { type: 'ec', curve: 'P-256' });
  assert.deepEqual(resolveKeySpec({ keyType: 'ec', curve: 'P-384' }, 2048), { type: 'ec', curve: 'P-384' });
  const oldEc = { type: 'ec', curve: 'P-384' } as const;
  assert.deepEqual(resolveKeySpec({}, 2048, oldEc), oldEc);
  assert.deepEqual(resolveKeySpec({ curve: 'P-256' }, 2048, oldEc), { type: 'ec', curve: 'P-256' });
  assert.deepEqual(resolveKeySpec({ keyType: 'rsa' }, 2048, oldEc), { type: 'rsa', bits: 2048 });
  assert.deepEqual(resolveKeySpec({}, 2048, { type: 'rsa', bits: 3072 }), { type: 'rsa', bits: 3072 });
  assert.deepEqual(resolveKeySpec({ keyType: 'ec' }, 2048, { type: 'rsa', bits: 3072 }), { type: 'ec', curve: 'P-256' });
});

test('resolveKeySpec: other types, curves and mixed flags are usage errors (exit 2)', () => {
  for (const choice of [
    { keyType: 'dsa' },
    { keyType: 'ed25519' },
    { keyType: 'EC' },
    { keyType: 'ec', curve: 'P-521' },
    { keyType: 'ec', curve: 'secp256k1' },
    { keyType: 'ec', curve: 'prime256v1' },
    { curve: 'P-256' },
    { keyType: 'ec', keySize: 2048 },
    { keySize: 1024 },
  ]) {
    assert.throws(() => resolveKeySpec(choice, 2048), (e: unknown) => e instanceof UsageError && e.exitCode === 2, JSON.stringify(choice));
  }
  assert.throws(() => resolveKeySpec({ curve: 'P-384' }, 2048, { type: 'rsa', bits: 2048 }), /--curve applies to EC keys/);
});

test('generateKey and keySpecOf agree; signatures are DER ECDSA-Sig-Value or PKCS#1 with the matched hash', async () => {
  const data = Buffer.from('a TBSCertificate, say');
  for (const [spec, oid, digest] of [
    [{ type: 'ec', curve: 'P-256' }, '1.2.840.10045.4.3.2', 'sha256'],
    [{ type: 'ec', curve: 'P-384' }, '1.2.840.10045.4.3.3', 'sha384'],
    [{ type: 'rsa', bits: 2048 }, '1.2.840.113549.1.1.11', 'sha256'],
  ] as const) {
    const key = await generateKey(spec);
    assert.deepEqual(keySpecOf(key), spec);
    assert.deepEqual(keySpecOf(createPublicKey(key)), spec);
    const algorithm = signatureAlgorithmOf(key);
    assert.equal(algorithm.digest, digest);
    const [algorithmOid, ...parameters] = readChildren(algorithm.der, readTlv(algorithm.der, 0));
    assert.equal(readOid(algorithm.der, algorithmOid!), oid);
    // RFC 5758 §3.2: ECDSA has no parameters; RFC 4055 §5: RSA has NULL.
    assert.deepEqual(parameters.map((p) => p.tag), spec.type === 'ec' ? [] : [0x05]);
    const signature = signWithKey(key, data);
    if (spec.type === 'ec') assert.equal(signature[0], 0x30, 'a DER SEQUENCE { r, s }');
    assert.ok(verify(digest, data, { key: createPublicKey(key), dsaEncoding: 'der' }, signature));
    assert.ok(verifyWithKey(createPublicKey(key), data, signature));
    assert.ok(!verifyWithKey(createPublicKey(key), Buffer.from('something else'), signature));
  }
});

test('leaf keyUsage: digitalSignature for EC, plus keyEncipherment for RSA', () => {
  assert.deepEqual(leafKeyUsage('ec'), ['digitalSignature']);
  assert.deepEqual(leafKeyUsage('ed25519'), ['digitalSignature']);
  assert.deepEqual(leafKeyUsage('rsa'), ['digitalSignature', 'keyEncipherment']);
});

test('keySpecOf: curves and types pocketca does not make are undefined', () => {
  assert.equal(keySpecOf(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey), undefined);
  assert.equal(keySpecOf(generateKeyPairSync('ed25519').privateKey), undefined);
  assert.throws(() => signatureAlgorithmOf(generateKeyPairSync('ed25519').privateKey), RangeError);
});
