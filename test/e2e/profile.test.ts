import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, secretFile, type TestCa } from '../helpers/cli';
import { readPlistWithPython } from '../helpers/plist';

interface Payload {
  [key: string]: unknown;
  PayloadContent: unknown;
}

/** A .mobileconfig as Python's plistlib reads it (independent of our writer). */
const parsePlist = (path: string): Payload => readPlistWithPython(path) as Payload;

const data = (v: unknown) => Buffer.from((v as { $data: string }).$data, 'base64');

function payloads(profile: Payload): { p12: Payload; root: Payload } {
  const list = profile.PayloadContent as Payload[];
  return {
    p12: list.find((p) => p.PayloadType === 'com.apple.security.pkcs12')!,
    root: list.find((p) => p.PayloadType === 'com.apple.security.root')!,
  };
}

const caDer = (ca: TestCa) => Buffer.from(readFileSync(join(ca.home, 'ca.pem'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');

test('issue writes a profile with the identity and the root, no password by default, stable identifiers on reissue', (t) => {
  const ca = createTestCa(['--name', 'Home & Garden <CA>']);
  t.after(() => ca.cleanup());
  const first = JSON.parse(ca.ok(['issue', 'alice-iphone', '--json']).stdout);
  const profile = parsePlist(first.files.mobileconfig);
  assert.equal(profile.PayloadType, 'Configuration');
  assert.equal(profile.PayloadVersion, 1);
  for (const key of ['PayloadIdentifier', 'PayloadUUID', 'PayloadDisplayName', 'PayloadOrganization', 'PayloadDescription']) {
    assert.equal(typeof profile[key], 'string', key);
  }
  assert.match(String(profile.PayloadDisplayName), /Home & Garden <CA>/);
  const { p12, root } = payloads(profile);
  assert.ok(p12 && root);
  assert.equal(p12.Password, undefined, 'the password stays out of the profile unless asked');
  assert.equal(p12.PayloadCertificateFileName, 'alice-iphone.p12');
  assert.deepEqual(data(root.PayloadContent), caDer(ca));
  const uuids = [profile.PayloadUUID, p12.PayloadUUID, root.PayloadUUID];
  assert.equal(new Set(uuids).size, 3);
  for (const u of uuids) assert.match(String(u), /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  // The embedded PKCS#12 is the file next to it and opens with the generated password.
  assert.deepEqual(data(p12.PayloadContent), readFileSync(first.files.p12));
  const pw = secretFile(ca.dir, 'pw', first.p12Password);
  writeFileSync(join(ca.dir, 'embedded.p12'), data(p12.PayloadContent));
  const opened = openssl(['pkcs12', '-in', join(ca.dir, 'embedded.p12'), '-passin', `file:${pw}`, '-nokeys', '-clcerts']);
  assert.equal(opened.code, 0, opened.stderr);
  assert.match(opened.stdout, /subject=CN = alice-iphone/);

  // A reissue for the same device replaces the old profile on the phone: same identifiers.
  const second = JSON.parse(ca.ok(['issue', 'alice-iphone', '--force', '--profile-password', '--json']).stdout);
  const again = parsePlist(second.files.mobileconfig);
  const againPayloads = payloads(again);
  assert.equal(again.PayloadIdentifier, profile.PayloadIdentifier);
  assert.equal(again.PayloadUUID, profile.PayloadUUID);
  assert.equal(againPayloads.p12.PayloadUUID, p12.PayloadUUID);
  assert.equal(againPayloads.root.PayloadUUID, root.PayloadUUID);
  assert.notDeepEqual(data(againPayloads.p12.PayloadContent), data(p12.PayloadContent));
  assert.equal(againPayloads.p12.Password, second.p12Password, '--profile-password puts it inside');

  // Another device gets other identifiers.
  const bob = parsePlist(JSON.parse(ca.ok(['issue', 'bob-ipad', '--json']).stdout).files.mobileconfig);
  assert.notEqual(bob.PayloadUUID, profile.PayloadUUID);
  assert.notEqual(bob.PayloadIdentifier, profile.PayloadIdentifier);
});

test('issue --sign-profile: CMS SignedData that openssl cms -verify accepts against ca.pem', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const json = JSON.parse(ca.ok(['issue', 'carol', '--sign-profile', '--json']).stdout);
  const out = join(ca.dir, 'content.plist');
  const v = openssl(['cms', '-verify', '-inform', 'DER', '-in', json.files.mobileconfig, '-CAfile', join(ca.home, 'ca.pem'), '-out', out]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stderr, /Verification successful/);
  assert.equal(parsePlist(out).PayloadType, 'Configuration');
  // The signer is the CA's own profile-signing certificate, reused for the next profile.
  const signer = join(ca.dir, 'signer.pem');
  openssl(['cms', '-verify', '-inform', 'DER', '-in', json.files.mobileconfig, '-CAfile', join(ca.home, 'ca.pem'), '-signer', signer, '-out', '/dev/null']);
  assert.match(openssl(['x509', '-in', signer, '-noout', '-subject']).stdout, /CN = pocketca profile signer/);
  const second = JSON.parse(ca.ok(['issue', 'dave', '--sign-profile', '--json']).stdout);
  const signer2 = join(ca.dir, 'signer2.pem');
  openssl(['cms', '-verify', '-inform', 'DER', '-in', second.files.mobileconfig, '-CAfile', join(ca.home, 'ca.pem'), '-signer', signer2, '-out', '/dev/null']);
  assert.equal(readFileSync(signer2, 'utf8'), readFileSync(signer, 'utf8'));
  // A flipped byte breaks it.
  const bytes = readFileSync(json.files.mobileconfig);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  writeFileSync(join(ca.dir, 'tampered'), bytes);
  assert.notEqual(openssl(['cms', '-verify', '-inform', 'DER', '-in', join(ca.dir, 'tampered'), '-CAfile', join(ca.home, 'ca.pem'), '-out', '/dev/null']).code, 0);
  // The signer key is kept encrypted, 0600.
  const key = readFileSync(join(ca.home, 'profile-signer.key.pem'), 'utf8');
  assert.match(key, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
});
