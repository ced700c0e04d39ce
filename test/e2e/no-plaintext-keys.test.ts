/**
 * SPEC "The CA home": the CA key is never written to disk unencrypted, by any
 * command. After a run of every command, every file in the home (the
 * database, its WAL, leftovers, keys) and the backup is scanned for an
 * unencrypted private key in any of the forms it could take: PEM (PKCS#8,
 * PKCS#1, SEC1), DER PKCS#8 or PKCS#1, and base64 of DER PKCS#8. The scanner
 * is first shown to find each form, so a clean result means something.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, pocketca, ROOT, secretFile, tempDir } from '../helpers/cli';

/** version 0, AlgorithmIdentifier rsaEncryption + NULL, then the OCTET STRING: the head of an unencrypted RSA PKCS#8. */
const PKCS8_RSA = Buffer.from('020100300d06092a864886f70d0101010500', 'hex');
/** version 0, AlgorithmIdentifier id-ecPublicKey: the head of an unencrypted EC PKCS#8. */
const PKCS8_EC = Buffer.from('020100301306072a8648ce3d0201', 'hex');
/** RSAPrivateKey (PKCS#1): version 0 then a modulus of 2048+ bits. */
const PKCS1_RSA = Buffer.from('020100028201', 'hex');
const PEM_HEADER = /-----BEGIN (?:RSA |EC |DSA |OPENSSH |)PRIVATE KEY-----/;

/** The marker as it appears in base64 at each of the three alignments (the stable middle of each). */
function base64Forms(marker: Buffer): string[] {
  return [0, 1, 2].map((shift) => {
    const b64 = Buffer.concat([Buffer.alloc(shift), marker]).toString('base64');
    return b64.slice(Math.ceil((shift * 4) / 3) + 1, Math.floor(((shift + marker.length) * 4) / 3) - 1);
  });
}

function findPlaintextKeys(dir: string): string[] {
  const found: string[] = [];
  const forms = [...base64Forms(PKCS8_RSA), ...base64Forms(PKCS8_EC)];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) return readdirSync(path).forEach((f) => walk(join(path, f)));
    const bytes = readFileSync(path);
    const text = bytes.toString('latin1');
    if (PEM_HEADER.test(text)) found.push(`${path}: PEM private key`);
    for (const [label, marker] of [['DER PKCS#8 RSA', PKCS8_RSA], ['DER PKCS#8 EC', PKCS8_EC], ['DER PKCS#1', PKCS1_RSA]] as const) {
      if (bytes.includes(marker)) found.push(`${path}: ${label}`);
    }
    if (forms.some((f) => text.includes(f))) found.push(`${path}: base64 of a DER private key`);
  };
  walk(dir);
  return found;
}

test('the scanner finds an unencrypted key in every form it looks for', (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  writeFileSync(join(dir, 'a.pem'), rsa.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'b.pem'), rsa.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(join(dir, 'c.der'), Buffer.concat([Buffer.from('junk'), rsa.export({ type: 'pkcs8', format: 'der' })]));
  writeFileSync(join(dir, 'd.der'), rsa.export({ type: 'pkcs1', format: 'der' }));
  writeFileSync(join(dir, 'e.db'), Buffer.concat([Buffer.alloc(4096), ec.export({ type: 'pkcs8', format: 'der' })]));
  for (const shift of [0, 1, 2]) {
    writeFileSync(join(dir, `f${shift}.json`), JSON.stringify({ key: Buffer.concat([Buffer.alloc(shift), rsa.export({ type: 'pkcs8', format: 'der' })]).toString('base64') }));
  }
  writeFileSync(join(dir, 'clean.pem'), rsa.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }));
  const found = findPlaintextKeys(dir);
  for (const file of ['a.pem', 'b.pem', 'c.der', 'd.der', 'e.db', 'f0.json', 'f1.json', 'f2.json']) {
    assert.ok(found.some((f) => f.startsWith(join(dir, file))), `finds ${file}: ${found.join('\n')}`);
  }
  assert.ok(!found.some((f) => f.includes('clean.pem')), 'an encrypted key is not a finding');
});

test('no unencrypted private key anywhere in the home or the backup after every command has run', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const p12 = ['--p12-password-file', secretFile(ca.dir, 'p12', 'scan-test')];
  const csr = join(ROOT, 'test', 'fixtures', 'csr', 'rsa-2048-server.csr.der');
  const backup = join(ca.dir, 'all.backup');
  const restored = join(ca.dir, 'restored');
  const steps: string[][] = [
    ['issue', 'phone', '--sign-profile', '--keep-key', ...p12],
    ['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa'],
    ['issue', 'laptop', '--p12-format', 'modern', '--profile-password', ...p12],
    ['sign', csr, '--name', 'device', '--profile', 'server', '--out', join(ca.out, 'device.pem')],
    ['renew', 'phone', '--sign-profile', ...p12],
    ['renew', 'cloud'],
    ['renew', 'device', '--csr', csr],
    ['revoke', 'laptop', '--reason', 'keyCompromise'],
    ['crl', '--out', join(ca.out, 'copy.crl'), '--der'],
    ['bundle', '--out', join(ca.out, 'bundle.pem')],
    ['list', '--all'],
    ['show', 'phone'],
    ['log'],
    ['backup', backup],
  ];
  for (const step of steps) ca.ok(step);
  const r = pocketca(['restore', backup, '--home', restored, '--passphrase-file', ca.passFile]);
  assert.equal(r.code, 0, r.stderr);
  // Commands of other parts of pocketca that exist in this build and need no network or terminal.
  const help = pocketca(['--help']).stdout;
  const others: string[][] = [
    ['doctor'],
    ['proxy', 'nginx', '--server-name', 'cloud.home.arpa', '--upstream', 'http://127.0.0.1:8080', '--cert', join(ca.out, 'cloud.pem'), '--key', join(ca.out, 'cloud.key.pem'), '--out-dir', join(ca.dir, 'proxy')],
    ['qr', 'https://example.invalid/x', '--png', join(ca.dir, 'qr.png')],
  ];
  for (const step of others) if (new RegExp(`^\\s+${step[0]}\\b`, 'm').test(help)) ca.run(step);
  // And a wrong passphrase, which must not leave anything behind either.
  assert.equal(ca.run(['crl', '--passphrase-file', secretFile(ca.dir, 'wrong', 'not the passphrase')]).code, 1);

  const found = [...findPlaintextKeys(ca.home), ...findPlaintextKeys(restored), ...findPlaintextKeys(backup)];
  assert.deepEqual(found, [], 'no unencrypted private key in the home, the restored home or the backup');
  // The scan had something to look at: the key files are there, encrypted.
  for (const home of [ca.home, restored]) {
    for (const key of ['ca.key.pem', 'profile-signer.key.pem']) assert.match(readFileSync(join(home, key), 'latin1'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  }
  // Outside the home, the files the user asked for do hold keys (0600): the scanner is not blind.
  assert.ok(findPlaintextKeys(ca.out).some((f) => f.includes('cloud.key.pem')));
});
