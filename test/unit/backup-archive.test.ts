/**
 * The backup file format (src/formats/backup-archive.ts): its signature for
 * each CA key type, checked by openssl over the bytes docs/backups.md names, and
 * the attacker-controlled parts of the layout (issue 9).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidBackupError } from '../../src/errors';
import { decodeBackup, encodeBackup, verifyManifestSignature } from '../../src/formats/backup-archive';
import { openssl, tempDir } from '../helpers/cli';
import { requireTool } from '../helpers/tools';

const NAMES = ['pocketca.db', 'ca.key.pem', 'ca.pem', 'crl.pem', 'bundle.pem', 'profile-signer.key.pem'];
const MEMBERS = [
  { name: 'pocketca.db', data: Buffer.from('SQLite format 3\0 ... pages') },
  { name: 'ca.pem', data: Buffer.from('-----BEGIN CERTIFICATE-----\n...\n') },
  { name: 'crl.pem', data: Buffer.alloc(0) },
];
const META = {
  createdAt: '2026-05-01T12:00:00.000Z',
  pocketcaVersion: '2.0.0',
  ca: { subject: 'CN=pocketca Root CA', fingerprintSha256: 'AB:CD' },
  schemaVersion: 2,
};

const KEYS: [string, KeyObject, KeyObject, string, string[]][] = [
  ['RSA-2048', ...pair(generateKeyPairSync('rsa', { modulusLength: 2048 })), 'sha256WithRSAEncryption', ['-sha256']],
  ['P-256', ...pair(generateKeyPairSync('ec', { namedCurve: 'P-256' })), 'ecdsa-with-SHA256', ['-sha256']],
  ['P-384', ...pair(generateKeyPairSync('ec', { namedCurve: 'P-384' })), 'ecdsa-with-SHA384', ['-sha384']],
  ['Ed25519', ...pair(generateKeyPairSync('ed25519')), 'Ed25519', []],
];
function pair(k: { privateKey: KeyObject; publicKey: KeyObject }): [KeyObject, KeyObject] {
  return [k.privateKey, k.publicKey];
}

function refused(file: Buffer, words: RegExp): void {
  assert.throws(() => decodeBackup(file, NAMES), (e: unknown) => e instanceof InvalidBackupError && words.test(e.message));
}

test('each CA key type signs the manifest; openssl verifies the signature over the magic and the manifest without its signature field', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  for (const [label, key, pub, algorithm, digest] of KEYS) {
    const file = encodeBackup(META, MEMBERS, key);
    const decoded = decodeBackup(file, NAMES);
    assert.equal(decoded.manifest.version, 2, label);
    assert.equal(decoded.manifest.signature!.algorithm, algorithm, label);
    assert.deepEqual([...decoded.members.keys()], ['pocketca.db', 'ca.pem', 'crl.pem']);
    assert.equal(verifyManifestSignature(decoded.signed!, pub), true, label);
    assert.equal(verifyManifestSignature(decoded.signed!, other), false, `${label}: another key`);

    // The signed bytes, cut from the file as docs/backups.md says, then openssl.
    const text = file.subarray(20, 20 + file.readUInt32BE(16)).toString('utf8');
    const cut = text.lastIndexOf(',\n  "signature": ');
    const signed = Buffer.concat([Buffer.from('pocketca-backup\n'), Buffer.from(text.slice(0, cut) + '\n}\n')]);
    assert.deepEqual(signed, decoded.signed!.data, label);
    assert.equal(JSON.parse(text.slice(0, cut) + '\n}\n').signature, undefined);
    writeFileSync(join(dir, 'signed.bin'), signed);
    writeFileSync(join(dir, 'sig.bin'), Buffer.from(decoded.manifest.signature!.value, 'base64'));
    writeFileSync(join(dir, 'pub.pem'), pub.export({ type: 'spki', format: 'pem' }));
    const r = digest.length
      ? openssl(['dgst', ...digest, '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.bin'), join(dir, 'signed.bin')])
      : openssl(['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-rawin', '-in', join(dir, 'signed.bin'), '-sigfile', join(dir, 'sig.bin')]);
    assert.equal(r.code, 0, `${label}: ${r.stdout}${r.stderr}`);
  }
});

test('a signature that names another algorithm than the key, or any changed manifest byte, does not verify', () => {
  const [, key, pub] = KEYS[1]!;
  const decoded = decodeBackup(encodeBackup(META, MEMBERS, key), NAMES);
  assert.equal(verifyManifestSignature({ ...decoded.signed!, algorithm: 'ecdsa-with-SHA384' }, pub), false);
  const data = Buffer.from(decoded.signed!.data);
  data[40]! ^= 1;
  assert.equal(verifyManifestSignature({ ...decoded.signed!, data }, pub), false);
});

test('the layout an attacker controls: names, repeats, sizes, the signature\'s place, truncation', () => {
  const [, key] = KEYS[1]!;
  const file = encodeBackup(META, MEMBERS, key);
  const length = file.readUInt32BE(16);
  const text = file.subarray(20, 20 + length).toString('utf8');
  const rebuilt = (manifest: string, members: Buffer[] = MEMBERS.map((m) => m.data)) => {
    const json = Buffer.from(manifest);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(json.length);
    return Buffer.concat([Buffer.from('pocketca-backup\n'), header, json, ...members]);
  };
  refused(rebuilt(text.replace('"ca.pem"', '"../ca.pem"')), /member name "..\/ca.pem" is not allowed/);
  refused(rebuilt(text.replace('"ca.pem"', '"ca.key"')), /unexpected member ca\.key/);
  refused(rebuilt(text.replace('"ca.pem"', '"pocketca.db"')), /member pocketca\.db is listed twice/);
  refused(rebuilt(text.replace(/"size": 0/, '"size": -1')), /member crl\.pem has no valid size/);
  refused(rebuilt(text.replace(/"size": 0/, '"size": 1e300')), /member crl\.pem has no valid size/);
  refused(rebuilt(text.replace(/\n {2}"signature": .*\n/, '\n  "signature" : ' + JSON.stringify(JSON.parse(text).signature) + '\n')), /its signature is not the last field/);
  refused(rebuilt(text.replace(/,\n {2}"signature": .*\n/, '\n')), /its manifest carries no signature/);
  refused(rebuilt(text.replace('"version": 2', '"version": 3')), /format version 3; this pocketca reads up to 2/);
  refused(rebuilt(text.replace('{', '[')), /not UTF-8 JSON/);
  const badUtf8 = Buffer.from(file);
  badUtf8[20 + 10] = 0xff;
  refused(badUtf8, /not UTF-8 JSON/);
  const huge = Buffer.from(file);
  huge.writeUInt32BE(2 * 1024 * 1024, 16);
  refused(huge, /manifest length \(2097152 bytes\) is over/);
  refused(file.subarray(0, 10), /the file is truncated \(10 bytes, shorter than the header\)/);
  refused(file.subarray(0, 20 + length - 1), /the file is truncated/);
  refused(file.subarray(0, file.length - 1), /describes \d+ \(truncated\?\)/);
  refused(Buffer.concat([file, Buffer.from('x')]), /the file is \d+ bytes but its manifest describes/);
});
