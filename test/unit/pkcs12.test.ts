/**
 * PKCS#12 in both profiles, checked by independent implementations: OpenSSL,
 * GnuTLS certtool, NSS pk12util, Java keytool and node-forge, then by
 * decodePkcs12. Passwords reach the tools through files or stdin, not argv.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import forge from 'node-forge';
import { signTbs } from '../../src/ca/signing';
import { MissingSecretError, UnreadableInputError, WrongPkcs12PasswordError } from '../../src/errors';
import { toPem } from '../../src/formats/pem';
import { content, DerError, readChildren, readTlv, slice, type Tlv } from '../../src/formats/der-reader';
import { decodePkcs12, encodePkcs12, type Pkcs12Format } from '../../src/formats/pkcs12';
import { encodeName } from '../../src/formats/x500-name';
import { basicConstraints, encodeTbsCertificate, extKeyUsage, keyUsage, OID, type Extension } from '../../src/formats/x509';
import { requireTool } from '../helpers/tools';

const PASSWORD = 'correct horse battery staple'; // a throwaway, test only
const FRIENDLY_NAME = 'alice-iphone';
const FORMATS: Pkcs12Format[] = ['legacy', 'modern'];

/** A CA and a client certificate it signed, fixed dates; read-only for every test. */
const fixture = makeFixture();

function makeFixture(): { key: KeyObject; leafDer: Buffer; caDer: Buffer } {
  const ca = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const leaf = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const caName = encodeName([{ type: 'O', value: 'pocketca test' }, { type: 'CN', value: 'Test CA' }]);
  const certificate = (serial: number, subjectDer: Buffer, publicKey: KeyObject, extensions: Extension[]): Buffer =>
    signTbs(
      ca.privateKey,
      encodeTbsCertificate({
        serial: Buffer.from([serial]),
        issuerDer: caName,
        subjectDer,
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2036-01-01T00:00:00Z'),
        spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
        extensions,
      }),
    );
  return {
    key: leaf.privateKey,
    caDer: certificate(1, caName, ca.publicKey, [basicConstraints(true, 0), keyUsage(['keyCertSign', 'cRLSign'])]),
    leafDer: certificate(2, encodeName([{ type: 'CN', value: 'alice' }]), leaf.publicKey, [
      basicConstraints(false),
      keyUsage(['digitalSignature']),
      extKeyUsage([OID.clientAuth]),
    ]),
  };
}

const localKeyId = createHash('sha1').update(fixture.leafDer).digest();

function encodeFixture(format: Pkcs12Format, password = PASSWORD): Buffer {
  return encodePkcs12({ key: fixture.key, certDer: fixture.leafDer, chainDer: [fixture.caDer], password, format, friendlyName: FRIENDLY_NAME });
}

/** A fresh directory, removed after the test, holding the .p12 and its password file. */
function workspace(t: TestContext, format: Pkcs12Format, password = PASSWORD) {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-p12-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string | Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  return { dir, file, p12: file('identity.p12', encodeFixture(format, password)), passwordFile: file('password', password) };
}

function run(command: string, args: string[], input?: string): { status: number | null; stdout: string; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', input, timeout: 120_000, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, output: result.stdout + result.stderr };
}

/** What each tool prints about the algorithms of each profile. */
const EXPECTED = {
  legacy: {
    openssl: ['MAC: sha1, Iteration 2048', 'PKCS7 Data', 'Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048'],
    certtool: ['MAC: SHA1', 'Schema: PKCS12-3DES-SHA1'],
  },
  modern: {
    openssl: [
      'MAC: sha256, Iteration 2048',
      'PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256',
      'Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256',
    ],
    certtool: ['MAC: SHA256', 'Schema: PBES2-AES256-CBC'],
  },
};

for (const format of FORMATS) {
  test(`${format}: openssl names the expected algorithms`, (t) => {
    if (!requireTool(t, 'openssl')) return;
    const w = workspace(t, format);
    const info = run('openssl', ['pkcs12', '-info', '-noout', '-in', w.p12, '-passin', `file:${w.passwordFile}`]);
    assert.equal(info.status, 0, info.output);
    for (const line of EXPECTED[format].openssl) assert.ok(info.output.includes(line), `missing "${line}" in:\n${info.output}`);
    // legacy keeps the certificates unencrypted (no RC2, so no -legacy needed).
    if (format === 'legacy') assert.doesNotMatch(info.output, /Encrypted data/);
  });

  test(`${format}: openssl -nodes extracts a key whose modulus matches the certificate`, (t) => {
    if (!requireTool(t, 'openssl')) return;
    const w = workspace(t, format);
    const extracted = join(w.dir, 'extracted.pem');
    const result = run('openssl', ['pkcs12', '-nodes', '-in', w.p12, '-passin', `file:${w.passwordFile}`, '-out', extracted]);
    assert.equal(result.status, 0, result.output);
    const pem = readFileSync(extracted, 'utf8');
    assert.equal(pem.match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.equal(pem.match(new RegExp(`friendlyName: ${FRIENDLY_NAME}`, 'g'))?.length, 2, 'on the key and the leaf');

    const keyModulus = run('openssl', ['rsa', '-in', extracted, '-noout', '-modulus']);
    const leafModulus = run('openssl', ['x509', '-in', w.file('leaf.pem', toPem('CERTIFICATE', fixture.leafDer)), '-noout', '-modulus']);
    assert.equal(keyModulus.status, 0, keyModulus.output);
    assert.match(keyModulus.stdout, /^Modulus=[0-9A-F]+\n$/);
    assert.equal(keyModulus.stdout, leafModulus.stdout);
  });

  test(`${format}: openssl rejects a wrong password`, (t) => {
    if (!requireTool(t, 'openssl')) return;
    const w = workspace(t, format);
    const info = run('openssl', ['pkcs12', '-info', '-noout', '-in', w.p12, '-passin', `file:${w.file('wrong', 'Correct horse')}`]);
    assert.notEqual(info.status, 0);
    assert.match(info.output, /Mac verify error/);
  });

  test(`${format}: GnuTLS certtool verifies the MAC and decrypts every bag`, (t) => {
    if (!requireTool(t, 'certtool')) return;
    const w = workspace(t, format);
    // Without --password, certtool reads the password from stdin.
    const info = run('certtool', ['--p12-info', '--inder', '--infile', w.p12], PASSWORD + '\n');
    assert.equal(info.status, 0, info.output);
    for (const line of EXPECTED[format].certtool) assert.ok(info.output.includes(line), `missing "${line}" in:\n${info.output}`);
    assert.equal(info.output.match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.match(info.output, /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.equal(info.output.match(new RegExp(`Friendly name: ${FRIENDLY_NAME}`, 'g'))?.length, 2);
    const keyIds = [...info.output.matchAll(/Key ID: ([0-9A-F:]+)/g)].map((m) => m[1]);
    const expected = localKeyId.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
    assert.deepEqual(keyIds, [expected, expected], 'the key and the leaf share a localKeyId');
  });

  test(`${format}: GnuTLS certtool rejects a wrong password`, (t) => {
    if (!requireTool(t, 'certtool')) return;
    const w = workspace(t, format);
    const info = run('certtool', ['--p12-info', '--inder', '--infile', w.p12], 'Correct horse\n');
    assert.notEqual(info.status, 0);
    assert.match(info.output, /Message Authentication Code verification failed/);
  });

  test(`${format}: NSS pk12util imports it and certutil lists the certificates and the key`, (t) => {
    if (!requireTool(t, 'pk12util') || !requireTool(t, 'certutil')) return;
    const w = workspace(t, format);
    const db = `sql:${w.dir}`;
    const emptyDbPassword = w.file('db-password', '');
    const created = run('certutil', ['-N', '-d', db, '--empty-password']);
    assert.equal(created.status, 0, created.output);
    const imported = run('pk12util', ['-i', w.p12, '-d', db, '-w', w.passwordFile, '-k', emptyDbPassword]);
    assert.equal(imported.status, 0, imported.output);
    assert.match(imported.output, /PKCS12 IMPORT SUCCESSFUL/);

    const certs = run('certutil', ['-L', '-d', db]);
    assert.match(certs.stdout, new RegExp(`^${FRIENDLY_NAME}\\s+u,u,u$`, 'm'), 'the leaf, with its key');
    assert.match(certs.stdout, /^Test CA\s/m);
    const keys = run('certutil', ['-K', '-d', db, '-f', emptyDbPassword]);
    assert.match(keys.stdout, new RegExp(`rsa\\s+[0-9a-f]+\\s+${FRIENDLY_NAME}$`, 'm'));
  });

  test(`${format}: Java keytool lists one PrivateKeyEntry with its chain`, (t) => {
    if (!requireTool(t, 'keytool')) return;
    const w = workspace(t, format);
    const list = run('keytool', [
      '-J-Duser.language=en',
      '-list',
      '-v',
      '-storetype',
      'PKCS12',
      '-keystore',
      w.p12,
      '-storepass:file',
      w.passwordFile,
    ]);
    assert.equal(list.status, 0, list.output);
    assert.match(list.output, /Your keystore contains 1 entry/);
    assert.match(list.output, new RegExp(`Alias name: ${FRIENDLY_NAME}\n`));
    assert.match(list.output, /Entry type: PrivateKeyEntry/);
    assert.match(list.output, /Certificate chain length: 2/);
  });

  test(`${format}: node-forge finds the bags, the friendlyName and a shared localKeyId`, () => {
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(encodeFixture(format).toString('binary')), PASSWORD);
    const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!]!;
    const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]!;
    assert.equal(keyBags.length, 1);
    assert.equal(certBags.length, 2);
    const id = localKeyId.toString('binary');
    assert.deepEqual(keyBags[0]!.attributes, { localKeyId: [id], friendlyName: [FRIENDLY_NAME] });
    assert.deepEqual(certBags[0]!.attributes, { localKeyId: [id], friendlyName: [FRIENDLY_NAME] });
    assert.deepEqual(certBags[1]!.attributes, {}, 'the CA certificate is not paired with the key');
    assert.equal(forge.pki.certificateToPem(certBags[1]!.cert!), toPem('CERTIFICATE', fixture.caDer).replace(/\n/g, '\r\n'));
  });

  test(`${format}: decodePkcs12 round-trips the key and the certificates`, () => {
    const { keyPem, certsDer } = decodePkcs12(encodeFixture(format), PASSWORD);
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.deepEqual(createPrivateKey(keyPem).export({ format: 'jwk' }), fixture.key.export({ format: 'jwk' }));
    assert.deepEqual(certsDer, [fixture.leafDer, fixture.caDer]);

    const alone = encodePkcs12({ key: fixture.key, certDer: fixture.leafDer, password: PASSWORD, format, friendlyName: FRIENDLY_NAME });
    assert.deepEqual(decodePkcs12(alone, PASSWORD).certsDer, [fixture.leafDer], 'no chain by default');
  });

  test(`${format}: decodePkcs12 rejects a wrong password`, () => {
    assert.throws(() => decodePkcs12(encodeFixture(format), 'Correct horse battery staple'), WrongPkcs12PasswordError);
  });

  test(`${format}: a non-ASCII password opens with openssl and decodePkcs12`, (t) => {
    // BMPString for the PKCS#12 KDF, UTF-8 for PBKDF2: both must agree with
    // OpenSSL. (Java's keytool refuses non-ASCII PKCS#12 passwords whoever
    // wrote the file, so it is not asked.)
    const password = 'pässwörd-€';
    assert.deepEqual(decodePkcs12(encodeFixture(format, password), password).certsDer, [fixture.leafDer, fixture.caDer]);
    if (!requireTool(t, 'openssl')) return;
    const w = workspace(t, format, password);
    const result = run('openssl', ['pkcs12', '-nodes', '-in', w.p12, '-passin', `file:${w.passwordFile}`]);
    assert.equal(result.status, 0, result.output);
    assert.match(result.stdout, /BEGIN PRIVATE KEY/);
  });
}

/** `openssl pkcs12 -export` of the fixture's key and leaf certificate with `options`, to `out`. */
function opensslExport(w: ReturnType<typeof workspace>, out: string, options: readonly string[]): ReturnType<typeof run> {
  return run('openssl', [
    'pkcs12',
    '-export',
    ...options,
    '-inkey',
    w.file('key.pem', fixture.key.export({ type: 'pkcs8', format: 'pem' })),
    '-in',
    w.file('leaf.pem', toPem('CERTIFICATE', fixture.leafDer)),
    '-passout',
    `file:${w.passwordFile}`,
    '-out',
    out,
  ]);
}

for (const [label, options] of [
  ['its defaults (PBES2, SHA-256 MAC)', []],
  ['3DES and a SHA-1 MAC', ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']],
] as const) {
  test(`decodePkcs12 reads what openssl pkcs12 -export writes with ${label}`, (t) => {
    if (!requireTool(t, 'openssl')) return;
    const w = workspace(t, 'modern');
    const out = join(w.dir, 'openssl.p12');
    const exported = opensslExport(w, out, [...options, '-certfile', w.file('ca.pem', toPem('CERTIFICATE', fixture.caDer))]);
    assert.equal(exported.status, 0, exported.output);
    const { keyPem, certsDer } = decodePkcs12(readFileSync(out), PASSWORD);
    assert.deepEqual(createPrivateKey(keyPem).export({ format: 'jwk' }), fixture.key.export({ format: 'jwk' }));
    assert.deepEqual(certsDer, [fixture.leafDer, fixture.caDer]);
  });
}

/**
 * Every SET in the file and in the SafeContents inside its OCTET STRINGs, as
 * [parent path, children in order]: X.690 §11.6 wants a DER SET OF sorted by
 * the children's encodings.
 */
function setsIn(der: Buffer, at: Tlv = readTlv(der, 0), path = ''): { path: string; children: Buffer[] }[] {
  const found: { path: string; children: Buffer[] }[] = [];
  if (at.tag === 0x04) {
    // An OCTET STRING that holds exactly one DER value (a ContentInfo's data): look inside.
    try {
      const inner = content(der, at);
      const tlv = readTlv(inner, 0);
      if (tlv.end === inner.length && (tlv.tag === 0x30 || tlv.tag === 0x31)) found.push(...setsIn(inner, tlv, `${path}/octets`));
    } catch (error) {
      if (!(error instanceof DerError)) throw error;
    }
    return found;
  }
  if ((at.tag & 0x20) === 0) return found;
  const children = readChildren(der, at);
  if (at.tag === 0x31) found.push({ path, children: children.map((c) => slice(der, c)) });
  children.forEach((c, i) => found.push(...setsIn(der, c, `${path}/${i}`)));
  return found;
}

test('bag attributes are a DER SET OF, sorted by encoding, for short and long friendly names (issue 10)', () => {
  // friendlyName's SEQUENCE is 15 + 2n octets long, localKeyId's 35: the order turns at 10 characters.
  for (const friendlyName of ['bob', 'bob-pixel', 'tenletters', 'alice-iphone-at-home']) {
    for (const format of FORMATS) {
      const der = encodePkcs12({ key: fixture.key, certDer: fixture.leafDer, chainDer: [fixture.caDer], password: PASSWORD, format, friendlyName });
      const sets = setsIn(der).filter((s) => s.children.length > 1);
      assert.ok(sets.length >= 1, `${format}: the key bag's attributes are found`);
      for (const set of sets) {
        const sorted = [...set.children].sort(Buffer.compare);
        assert.ok(set.children.every((c, i) => c.equals(sorted[i]!)), `${format} ${friendlyName}: the SET at ${set.path} is not in DER order`);
      }
      const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der.toString('binary')), PASSWORD);
      const keyBag = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!]![0]!;
      assert.deepEqual(keyBag.attributes.friendlyName, [friendlyName]);
    }
  }
});

test('decodePkcs12 refuses RC2, which openssl pkcs12 -export -legacy writes', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const w = workspace(t, 'modern');
  const out = join(w.dir, 'rc2.p12');
  const exported = opensslExport(w, out, ['-legacy']);
  if (exported.status !== 0) {
    t.skip(`this OpenSSL has no legacy provider: ${exported.output.trim()}`);
    return;
  }
  assert.throws(() => decodePkcs12(readFileSync(out), PASSWORD), {
    name: 'UnreadableInputError',
    message: 'unsupported PKCS#12 encryption algorithm 1.2.840.113549.1.12.1.6',
  });
});

test('decodePkcs12 reports a tampered file as a MAC failure', () => {
  const der = encodeFixture('legacy');
  // A byte of the leaf certificate, which the legacy profile leaves unencrypted.
  const at = der.indexOf(fixture.leafDer);
  assert.ok(at > 0);
  der[at + 20] = der[at + 20]! ^ 0x01;
  assert.throws(() => decodePkcs12(der, PASSWORD), WrongPkcs12PasswordError);
});

test('decodePkcs12 refuses bytes that are not PKCS#12', () => {
  assert.throws(() => decodePkcs12(Buffer.from('not a p12'), PASSWORD), UnreadableInputError);
  assert.throws(() => decodePkcs12(fixture.leafDer, PASSWORD), UnreadableInputError);
});

test('encodePkcs12 refuses an empty password', () => {
  for (const format of FORMATS) {
    assert.throws(
      () => encodePkcs12({ key: fixture.key, certDer: fixture.leafDer, password: '', format, friendlyName: FRIENDLY_NAME }),
      MissingSecretError,
    );
  }
});
