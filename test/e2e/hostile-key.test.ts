/**
 * SPEC "Hostile key files": a ca.key.pem whose key derivation asks for too
 * much work (scrypt p = 4096, N = 2^21, r = 33; PBKDF2 or PKCS#12 PBE with
 * 2^31 - 1 iterations) makes `pocketca crl` exit 1 at once, naming the
 * parameter, with nothing changed; the passphrase comes from a file (so the
 * start-up prefetch meets the file first) or the environment. Keys written by
 * `openssl pkcs8` within the bounds still open.
 *
 * The hostile files are the CA's own ciphertext under rewritten parameters:
 * making one with openssl would itself run the derivation for minutes. Without
 * the bounds, the scrypt and PBKDF2 cases run for minutes to hours (the 20 s
 * timeout ends them) and the others fail without naming the parameter.
 * Run: npx tsc -p . && node --test dist/test/e2e/hostile-key.test.js
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { octetString, oid, sequence, smallInteger, unsignedInteger } from '../../src/formats/der';
import { KEY_ENCRYPTION_OIDS, readScryptEncryption } from '../../src/formats/encrypted-key';
import { fromPem, toPem } from '../../src/formats/pem';
import { createTestCa, openssl, PASSPHRASE, pocketcaAsync, type TestCa } from '../helpers/cli';

const { pbes2: PBES2, scrypt: SCRYPT, pbkdf2: PBKDF2, aes256Cbc: AES256_CBC } = KEY_ENCRYPTION_OIDS;
const HMAC_SHA256 = '1.2.840.113549.2.9';
const PBE_SHA1_3DES = '1.2.840.113549.1.12.1.3';
const INT31 = 2 ** 31 - 1;

interface Parts {
  salt: Buffer;
  iv: Buffer;
  encrypted: Buffer;
}

const partsOf = (ca: TestCa): Parts => readScryptEncryption(fromPem(readFileSync(join(ca.home, 'ca.key.pem'), 'latin1'), ['ENCRYPTED PRIVATE KEY'])!)!;
const keyPem = (algorithm: Buffer, encrypted: Buffer): string => toPem('ENCRYPTED PRIVATE KEY', sequence(algorithm, octetString(encrypted)));
const aes = (x: Parts) => sequence(oid(AES256_CBC), octetString(x.iv));

const scryptKey = (x: Parts, N: number, r: number, p: number): string =>
  keyPem(sequence(oid(PBES2), sequence(sequence(oid(SCRYPT), sequence(octetString(x.salt), smallInteger(N), smallInteger(r), smallInteger(p), smallInteger(32))), aes(x))), x.encrypted);

const pbkdf2Key = (x: Parts, iterations: Buffer): string =>
  keyPem(sequence(oid(PBES2), sequence(sequence(oid(PBKDF2), sequence(octetString(x.salt), iterations, sequence(oid(HMAC_SHA256), Buffer.from([5, 0])))), aes(x))), x.encrypted);

const pkcs12PbeKey = (x: Parts, iterations: number): string => keyPem(sequence(oid(PBE_SHA1_3DES), sequence(octetString(x.salt.subarray(0, 8)), smallInteger(iterations))), x.encrypted);

test('a key file asking for too much key-derivation work: exit 1 at once naming the parameter, nothing changed', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const x = partsOf(ca);
  const cases: [string, string, RegExp][] = [
    ['scrypt p = 4096', scryptKey(x, 16384, 8, 4096), /scrypt parameter p is 4096, above the limit of 16/],
    ['scrypt p = 17 (tiny N)', scryptKey(x, 1024, 8, 17), /scrypt parameter p is 17, above the limit of 16/],
    ['scrypt N = 2^21', scryptKey(x, 2 ** 21, 8, 1), /scrypt parameter N is 2097152, above the limit of 1048576/],
    ['scrypt r = 33', scryptKey(x, 16384, 33, 1), /scrypt parameter r is 33, above the limit of 32/],
    ['PBKDF2 2^31 - 1 iterations', pbkdf2Key(x, smallInteger(INT31)), /PBKDF2 iteration count is 2147483647, above the limit of 10000000/],
    ['PBKDF2 2^64 iterations', pbkdf2Key(x, unsignedInteger(Buffer.from('010000000000000000', 'hex'))), /PBKDF2 iteration count is 18446744073709551616, above/],
    ['PKCS#12 PBE 2^31 - 1 iterations', pkcs12PbeKey(x, INT31), /PBE iteration count is 2147483647, above the limit of 10000000/],
  ];
  const crlBefore = readFileSync(join(ca.home, 'crl.pem'));
  for (const [label, pem, words] of cases) {
    writeFileSync(join(ca.home, 'ca.key.pem'), pem, { mode: 0o600 });
    // Both ways the start-up prefetch (src/cli/start.ts) takes a passphrase: a file and the environment.
    const runs = await Promise.all([
      ca.runAsync(['crl'], { timeoutMs: 20_000 }),
      pocketcaAsync(['crl', '--home', ca.home], { env: { POCKETCA_PASSPHRASE: PASSPHRASE }, timeoutMs: 20_000 }),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 1, `${label}: exit 1\n${r.stderr}`);
      assert.match(r.stderr, /^error: .*ca\.key\.pem is refused before any work: its /m, label);
      assert.match(r.stderr, words, label);
      assert.doesNotMatch(r.stderr, /BEGIN|PRIVATE KEY-----/, `${label}: no key material printed`);
    }
  }
  assert.deepEqual(readFileSync(join(ca.home, 'crl.pem')), crlBefore, 'no CRL was signed');
});

test('keys written by openssl pkcs8 within the bounds still open (scrypt p = 16, PBKDF2 100,000 iterations)', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const original = join(ca.home, 'ca.key.pem');
  for (const options of [
    ['-scrypt', '-scrypt_N', '1024', '-scrypt_r', '8', '-scrypt_p', '16'],
    ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA256', '-iter', '100000'],
  ]) {
    const plain = openssl(['pkey', '-in', original, '-passin', `file:${ca.passFile}`]);
    assert.equal(plain.code, 0, plain.stderr);
    const r = openssl(['pkcs8', '-topk8', ...options, '-passout', `file:${ca.passFile}`], { input: plain.stdout });
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(original, r.stdout, { mode: 0o600 });
    ca.ok(['crl']);
  }
});
