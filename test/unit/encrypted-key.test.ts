/**
 * The CA key at rest, decrypted off the main thread: what pocketca writes,
 * what `openssl pkcs8 -scrypt` writes (other parameters too), and a PBKDF2
 * key left to OpenSSL; the prefetch is used only for the same bytes and
 * passphrase.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyDerivationTooCostlyError, WrongPassphraseError } from '../../src/errors';
import { octetString, oid, sequence, smallInteger } from '../../src/formats/der';
import { checkKeyDerivation, decryptPrivateKeyAsync, KEY_ENCRYPTION_OIDS, encryptPrivateKey, readScryptEncryption } from '../../src/formats/encrypted-key';
import { fromPem, toPem } from '../../src/formats/pem';
import { decryptCaKey, prefetchKey } from '../../src/host/key-prefetch';
import { prefetchCaKey } from '../../src/cli/head-start';
import { openssl, secretFile, tempDir } from '../helpers/cli';

const PASS = 'correct horse battery';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pkcs8 = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'der' });
const ours = Buffer.from(encryptPrivateKey(privateKey, PASS, randomBytes));

function withDir(t: { after: (fn: () => void) => void }): string {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `openssl pkcs8 -topk8` of the test key with extra options, passphrase from a file. */
function opensslEncrypted(dir: string, options: string[]): Buffer {
  const pass = secretFile(dir, 'pass', PASS);
  const r = openssl(['pkcs8', '-topk8', ...options, '-passout', `file:${pass}`], { input: privateKey.export({ type: 'pkcs8', format: 'pem' }) });
  assert.equal(r.code, 0, r.stderr);
  return Buffer.from(r.stdout);
}

test('decryptPrivateKeyAsync opens what encryptPrivateKey writes; a wrong passphrase is WrongPassphraseError', async () => {
  const params = readScryptEncryption(fromPem(ours.toString(), ['ENCRYPTED PRIVATE KEY'])!);
  assert.deepEqual({ N: params?.N, r: params?.r, p: params?.p }, { N: 16384, r: 8, p: 1 });
  assert.deepEqual(pkcs8(await decryptPrivateKeyAsync(ours, PASS)), pkcs8(privateKey));
  await assert.rejects(decryptPrivateKeyAsync(ours, 'not the passphrase'), WrongPassphraseError);
});

test('decryptPrivateKeyAsync reads openssl -scrypt keys with their own parameters, and PBKDF2 keys through OpenSSL', async (t) => {
  const dir = withDir(t);
  const scrypt = opensslEncrypted(dir, ['-scrypt', '-scrypt_N', '1024', '-scrypt_r', '4', '-scrypt_p', '2', '-v2', 'aes-256-cbc']);
  const params = readScryptEncryption(fromPem(scrypt.toString(), ['ENCRYPTED PRIVATE KEY'])!);
  assert.deepEqual({ N: params?.N, r: params?.r, p: params?.p }, { N: 1024, r: 4, p: 2 });
  assert.deepEqual(pkcs8(await decryptPrivateKeyAsync(scrypt, PASS)), pkcs8(privateKey));
  await assert.rejects(decryptPrivateKeyAsync(scrypt, 'wrong passphrase'), WrongPassphraseError);

  const pbkdf2 = opensslEncrypted(dir, ['-v2', 'aes-256-cbc']);
  assert.equal(readScryptEncryption(fromPem(pbkdf2.toString(), ['ENCRYPTED PRIVATE KEY'])!), undefined);
  assert.deepEqual(pkcs8(await decryptPrivateKeyAsync(pbkdf2, PASS)), pkcs8(privateKey));
  await assert.rejects(decryptPrivateKeyAsync(pbkdf2, 'wrong passphrase'), WrongPassphraseError);
});

test('readScryptEncryption refuses what it cannot decrypt itself: another cipher, a truncated or padded structure', (t) => {
  const dir = withDir(t);
  const aes128 = opensslEncrypted(dir, ['-scrypt', '-v2', 'aes-128-cbc']);
  assert.equal(readScryptEncryption(fromPem(aes128.toString(), ['ENCRYPTED PRIVATE KEY'])!), undefined);
  const der = fromPem(ours.toString(), ['ENCRYPTED PRIVATE KEY'])!;
  assert.ok(readScryptEncryption(der));
  assert.equal(readScryptEncryption(der.subarray(0, der.length - 1)), undefined);
  assert.equal(readScryptEncryption(Buffer.concat([der, Buffer.from([0])])), undefined);
});

test('decryptCaKey takes a prefetch only for the same key bytes and passphrase, and only once', async () => {
  const started = prefetchKey(ours, PASS);
  assert.equal(decryptCaKey(ours, PASS), started);
  assert.notEqual(decryptCaKey(ours, PASS), started, 'taken once');

  prefetchKey(ours, 'a guess that was wrong');
  assert.deepEqual(pkcs8(await decryptCaKey(ours, PASS)), pkcs8(privateKey));

  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  prefetchKey(Buffer.from(encryptPrivateKey(other, PASS, randomBytes)), PASS);
  assert.deepEqual(pkcs8(await decryptCaKey(ours, PASS)), pkcs8(privateKey), 'not the key of other bytes');
});

test('prefetchCaKey reads the passphrase and home as the CLI will, and starts nothing when it cannot', async (t) => {
  const dir = withDir(t);
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(home, 'ca.key.pem'), ours);
  const file = secretFile(dir, 'pass', PASS);
  const take = async (started: Promise<KeyObject> | undefined) => {
    assert.ok(started, 'a prefetch was started');
    assert.equal(decryptCaKey(ours, PASS), started, 'and it is the one the unlock takes');
    assert.deepEqual(pkcs8(await started), pkcs8(privateKey));
  };
  await take(prefetchCaKey(['--home', home, 'sign', 'x.csr', '--passphrase-file', file], {}));
  await take(prefetchCaKey(['sign', 'x.csr', `--passphrase-file=${file}`], { POCKETCA_HOME: home }));
  await take(prefetchCaKey([`--home=${home}`, 'crl'], { POCKETCA_PASSPHRASE: PASS }));

  assert.equal(prefetchCaKey(['--home', home, 'crl'], {}), undefined, 'no passphrase: the prompt is asked later');
  assert.equal(prefetchCaKey(['--home', join(dir, 'none'), 'crl'], { POCKETCA_PASSPHRASE: PASS }), undefined, 'no key');
  assert.equal(prefetchCaKey(['--home', home, 'crl', '--passphrase-file', join(dir, 'missing')], {}), undefined, 'no file');
  writeFileSync(join(dir, 'big'), 'x'.repeat(5000));
  assert.equal(prefetchCaKey(['--home', home, 'crl', '--passphrase-file', join(dir, 'big')], {}), undefined, 'a file the CLI refuses');
});

test('a key asking for scrypt p = 4096 is refused before any scrypt: by the prefetch and by the unlock', async () => {
  const x = readScryptEncryption(fromPem(ours.toString(), ['ENCRYPTED PRIVATE KEY'])!)!;
  // ours with p rewritten (1 -> 4096): deriving it would take minutes.
  const hostile = Buffer.from(
    toPem(
      'ENCRYPTED PRIVATE KEY',
      sequence(
        sequence(
          oid(KEY_ENCRYPTION_OIDS.pbes2),
          sequence(
            sequence(oid(KEY_ENCRYPTION_OIDS.scrypt), sequence(octetString(x.salt), smallInteger(x.N), smallInteger(x.r), smallInteger(4096))),
            sequence(oid(KEY_ENCRYPTION_OIDS.aes256Cbc), octetString(x.iv)),
          ),
        ),
        octetString(x.encrypted),
      ),
    ),
  );
  assert.throws(() => checkKeyDerivation(fromPem(hostile.toString(), ['ENCRYPTED PRIVATE KEY'])!), KeyDerivationTooCostlyError);
  const started = Date.now();
  await assert.rejects(prefetchKey(hostile, PASS), { name: 'KeyDerivationTooCostlyError', message: 'scrypt parameter p is 4096, above the limit of 16' });
  await assert.rejects(decryptCaKey(hostile, PASS), KeyDerivationTooCostlyError);
  assert.ok(Date.now() - started < 5_000, 'refused, not derived');
});
