/**
 * The .mobileconfig writer and its CMS signature, checked with independent
 * implementations: Python's plistlib and uuid modules read the profile and
 * recompute the UUIDs; openssl opens the embedded PKCS#12 and verifies the
 * signature. Certificates are made here with fixed dates (2026-01-01 to
 * 2027-01-01) and openssl verifies at a fixed time (-attime) inside them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { InvalidNameError } from '../../src/errors';
import { signTbs } from '../../src/ca/signing';
import { encodeName } from '../../src/formats/x500-name';
import {
  OID,
  authorityKeyIdentifier,
  basicConstraints,
  encodeTbsCertificate,
  extKeyUsage,
  fingerprintOf,
  keyIdentifierOf,
  keyUsage,
  subjectKeyIdentifier,
  type Extension,
  type KeyUsageBit,
} from '../../src/formats/x509';
import { buildMobileconfig, signMobileconfig, stableUuid, type MobileconfigParams } from '../../src/formats/mobileconfig';
import { encodePlist, type PlistValue } from '../../src/formats/plist';
import { readPlistWithPython } from '../helpers/plist';

const NOT_BEFORE = new Date('2026-01-01T00:00:00Z');
const NOT_AFTER = new Date('2027-01-01T00:00:00Z');
const SIGNING_TIME = new Date('2026-06-01T12:00:00Z');
const VERIFY_AT = String(SIGNING_TIME.getTime() / 1000);
/** The namespace pinned in src/formats/mobileconfig.ts; changing it breaks profile replacement on phones. */
const POCKETCA_NAMESPACE = '23483866-9111-4279-96BD-A17C092879D5';
const UUID_PATTERN = /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;

// ---------------------------------------------------------------- fixtures

interface Issued {
  der: Buffer;
  key: KeyObject;
  subjectDer: Buffer;
  keyId: Buffer;
}

function newKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

function issue(o: { cn: string; key: KeyObject; serial: number; issuer?: Issued; ca?: boolean; ku: KeyUsageBit[]; eku?: string[] }): Issued {
  const spkiDer = createPublicKey(o.key).export({ type: 'spki', format: 'der' }) as Buffer;
  const subjectDer = encodeName([{ type: 'CN', value: o.cn }]);
  const keyId = keyIdentifierOf(spkiDer);
  const issuer = o.issuer;
  const extensions: Extension[] = [basicConstraints(o.ca ?? false), keyUsage(o.ku), subjectKeyIdentifier(keyId)];
  if (o.eku) extensions.push(extKeyUsage(o.eku));
  if (issuer) extensions.push(authorityKeyIdentifier(issuer.keyId));
  const tbs = encodeTbsCertificate({
    serial: Buffer.from([o.serial]),
    issuerDer: issuer ? issuer.subjectDer : subjectDer,
    subjectDer,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    spkiDer,
    extensions,
  });
  return { der: signTbs(issuer ? issuer.key : o.key, tbs), key: o.key, subjectDer, keyId };
}

const toForgeCert = (der: Buffer) => forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary')));
const toPem = (der: Buffer, label = 'CERTIFICATE') =>
  `-----BEGIN ${label}-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** A legacy PKCS#12 (PBE-SHA1-3DES, SHA-1 MAC) made by forge directly; the real encoder is src/formats/pkcs12.ts. */
function makeP12(leaf: Issued, ca: Issued, password: string): Buffer {
  const key = forge.pki.privateKeyFromPem(leaf.key.export({ type: 'pkcs1', format: 'pem' }) as string);
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [toForgeCert(leaf.der), toForgeCert(ca.der)], password, { algorithm: '3des' });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** CA and device names that need XML escaping (and a non-ASCII letter, so the CMS issuer is UTF8String). */
const CA_NAME = `Café & <Friends> "home" 'CA'`;
const P12_PASSWORD = 'correct horse & <battery>';

let dir: string;
let ca: Issued;
let phone: Issued;
let phone2: Issued;
let signer: Issued;
let otherCa: Issued;
let otherSigner: Issued;
let caFingerprint: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pocketca-mobileconfig-'));
  ca = issue({ cn: CA_NAME, key: newKey(), serial: 1, ca: true, ku: ['keyCertSign', 'cRLSign'] });
  const leafKey = newKey();
  phone = issue({ cn: 'phone', key: leafKey, serial: 2, issuer: ca, ku: ['digitalSignature', 'keyEncipherment'], eku: [OID.clientAuth] });
  phone2 = issue({ cn: 'phone', key: leafKey, serial: 3, issuer: ca, ku: ['digitalSignature', 'keyEncipherment'], eku: [OID.clientAuth] });
  // openssl cms -verify checks the S/MIME signing purpose by default:
  // keyUsage digitalSignature (or nonRepudiation) and EKU emailProtection.
  // The real profile-signing certificate needs the same.
  const signerKey = newKey();
  signer = issue({ cn: 'pocketca profile signer', key: signerKey, serial: 4, issuer: ca, ku: ['digitalSignature'], eku: [OID.emailProtection] });
  otherCa = issue({ cn: 'Other CA', key: newKey(), serial: 1, ca: true, ku: ['keyCertSign', 'cRLSign'] });
  otherSigner = issue({ cn: 'other signer', key: signerKey, serial: 2, issuer: otherCa, ku: ['digitalSignature'], eku: [OID.emailProtection] });
  caFingerprint = fingerprintOf(ca.der);
  writeFileSync(join(dir, 'ca.pem'), toPem(ca.der));
});

after(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------- helpers

let fileCounter = 0;
function tempFile(content: Buffer | string): string {
  const path = join(dir, `f${++fileCounter}`);
  writeFileSync(path, content);
  return path;
}

function run(cmd: string, args: string[], input?: Buffer) {
  const r = spawnSync(cmd, args, { input, cwd: dir });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
/** Python's plistlib reading the text; <data> becomes {"$data": base64}. */
const readWithPlistlib = (text: string): Json => readPlistWithPython(tempFile(text));
const dataOf = (value: Json): Buffer => Buffer.from(value.$data, 'base64');

function params(over: Partial<MobileconfigParams> = {}): MobileconfigParams {
  return {
    deviceName: 'phone',
    p12Der: makeP12(phone, ca, P12_PASSWORD),
    caCertDer: ca.der,
    caName: CA_NAME,
    caFingerprint,
    ...over,
  };
}

const payloadOf = (profile: Json, type: string): Json => profile.PayloadContent.find((p: Json) => p.PayloadType === type);

function identifiersOf(profile: Json) {
  const id = payloadOf(profile, 'com.apple.security.pkcs12');
  const root = payloadOf(profile, 'com.apple.security.root');
  return [profile.PayloadIdentifier, profile.PayloadUUID, id.PayloadIdentifier, id.PayloadUUID, root.PayloadIdentifier, root.PayloadUUID];
}

function verifyCms(signed: Buffer, caPem: string, extra: string[] = []) {
  const out = join(dir, `out${++fileCounter}.plist`);
  const r = run('openssl', ['cms', '-verify', '-inform', 'DER', '-in', tempFile(signed), '-CAfile', caPem, '-attime', VERIFY_AT, '-out', out, ...extra]);
  return { ...r, out };
}

// ---------------------------------------------------------------- plist

describe('encodePlist', () => {
  test('writes every type so that plistlib reads back the same values', () => {
    const data = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const value: PlistValue = {
      s: 'plain',
      escaped: `a & b < c > d "q" 'a' ]]> \r\n end`,
      unicode: 'Zoë ☃ 𝄞',
      n: 42,
      negative: -7,
      t: true,
      f: false,
      d: data,
      empty: Buffer.alloc(0),
      list: ['x', 1, [false], {}],
      nested: { inner: { deep: 'yes' } },
      emptyList: [],
      'key & <key>': 'v',
      omitted: undefined,
    };
    const back = readWithPlistlib(encodePlist(value));
    assert.deepEqual(back, {
      s: 'plain',
      escaped: `a & b < c > d "q" 'a' ]]> \r\n end`,
      unicode: 'Zoë ☃ 𝄞',
      n: 42,
      negative: -7,
      t: true,
      f: false,
      d: { $data: data.toString('base64') },
      empty: { $data: '' },
      list: ['x', 1, [false], {}],
      nested: { inner: { deep: 'yes' } },
      emptyList: [],
      'key & <key>': 'v',
    });
  });

  test('has the Apple header, sorted keys and wrapped <data>', () => {
    const text = encodePlist({ b: 1, a: Buffer.alloc(200, 7) });
    assert.ok(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"'));
    assert.ok(text.endsWith('</dict>\n</plist>\n'));
    assert.ok(text.indexOf('<key>a</key>') < text.indexOf('<key>b</key>'));
    const lines = text.split('\n').filter((l) => /^\t[A-Za-z0-9+/=]+$/.test(l));
    assert.equal(lines.length, Math.ceil(Buffer.alloc(200).toString('base64').length / 64));
    assert.ok(lines.every((l) => l.length <= 65));
    assert.doesNotMatch(text, /\r/, 'a CR must be a character reference, not a raw byte');
  });

  test('refuses what XML 1.0 cannot carry, non-integers and null', () => {
    assert.throws(() => encodePlist('bell\u0007'), /U\+0007 cannot be written/);
    assert.throws(() => encodePlist({ 'k\u0000': 'v' }), /U\+0000/);
    assert.throws(() => encodePlist('lone \uD800 surrogate'), /U\+D800/);
    assert.throws(() => encodePlist('\uFFFE'), /U\+FFFE/);
    assert.throws(() => encodePlist(1.5), /not an integer/);
    assert.throws(() => encodePlist(null as unknown as PlistValue), /cannot write null/);
  });
});

// ---------------------------------------------------------------- UUIDs

describe('stableUuid', () => {
  test('is RFC 4122 v5 under the pinned pocketca namespace, as Python computes it', () => {
    const hex = caFingerprint.replace(/:/g, '').toLowerCase();
    const script =
      'import sys, uuid\n' +
      'ca = uuid.uuid5(uuid.UUID(sys.argv[1]), sys.argv[2])\n' +
      'print(str(uuid.uuid5(ca, sys.argv[3])).upper())';
    for (const name of ['profile:phone', 'pkcs12:phone', 'root:laptop', 'é & <x>']) {
      const r = run('python3', ['-c', script, POCKETCA_NAMESPACE, hex, name]);
      assert.equal(r.status, 0, r.stderr);
      const uuid = stableUuid(caFingerprint, name);
      assert.match(uuid, UUID_PATTERN);
      assert.equal(uuid, r.stdout.toString().trim());
    }
  });

  test('takes the fingerprint in any format and rejects what is not one', () => {
    const hex = caFingerprint.replace(/:/g, '');
    const expected = stableUuid(caFingerprint, 'n');
    assert.equal(stableUuid(hex.toLowerCase(), 'n'), expected);
    assert.equal(stableUuid(caFingerprint.replace(/:/g, ' '), 'n'), expected);
    assert.notEqual(stableUuid(fingerprintOf(otherCa.der), 'n'), expected);
    assert.throws(() => stableUuid(hex.slice(2), 'n'), /not a SHA-256 fingerprint/);
    assert.throws(() => stableUuid(hex.slice(2) + 'zz', 'n'), /not a SHA-256 fingerprint/);
  });
});

// ---------------------------------------------------------------- profile

describe('buildMobileconfig', () => {
  test('has the top-level keys and two payloads of Apple\'s schema', () => {
    const p = params();
    const profile = readWithPlistlib(buildMobileconfig(p));
    const prefix = caFingerprint.replace(/:/g, '').toLowerCase().slice(0, 16);

    assert.equal(profile.PayloadType, 'Configuration');
    assert.equal(profile.PayloadVersion, 1);
    assert.equal(profile.PayloadIdentifier, `ca.pocketca.${prefix}.phone`);
    assert.equal(profile.PayloadOrganization, 'pocketca');
    assert.equal(profile.PayloadDisplayName, `phone (${CA_NAME})`);
    assert.match(profile.PayloadDescription, /identity .* for phone/);
    assert.ok(profile.PayloadDescription.includes(`certificate authority ${CA_NAME}`));
    assert.match(profile.PayloadDescription, /You will be asked for the password/);
    assert.deepEqual(
      Object.keys(profile).sort(),
      ['PayloadContent', 'PayloadDescription', 'PayloadDisplayName', 'PayloadIdentifier', 'PayloadOrganization', 'PayloadType', 'PayloadUUID', 'PayloadVersion'],
    );
    assert.equal(profile.PayloadContent.length, 2);

    const identity = payloadOf(profile, 'com.apple.security.pkcs12');
    assert.deepEqual(Object.keys(identity).sort(), [
      'PayloadCertificateFileName',
      'PayloadContent',
      'PayloadDescription',
      'PayloadDisplayName',
      'PayloadIdentifier',
      'PayloadType',
      'PayloadUUID',
      'PayloadVersion',
    ]);
    assert.equal(identity.PayloadVersion, 1);
    assert.equal(identity.PayloadCertificateFileName, 'phone.p12');
    assert.equal(identity.PayloadIdentifier, `ca.pocketca.${prefix}.phone.pkcs12`);
    assert.ok(dataOf(identity.PayloadContent).equals(p.p12Der));
    assert.equal('Password' in identity, false, 'no Password unless --profile-password');

    const root = payloadOf(profile, 'com.apple.security.root');
    assert.equal(root.PayloadVersion, 1);
    assert.equal(root.PayloadIdentifier, `ca.pocketca.${prefix}.phone.root`);
    assert.equal(root.PayloadDisplayName, CA_NAME);
    assert.match(root.PayloadCertificateFileName, /^[A-Za-z0-9._-]+\.cer$/);
    assert.ok(dataOf(root.PayloadContent).equals(ca.der), 'root payload is the CA DER');

    const uuids = [profile.PayloadUUID, identity.PayloadUUID, root.PayloadUUID];
    for (const uuid of uuids) assert.match(uuid, UUID_PATTERN);
    assert.equal(new Set(uuids).size, 3);
    assert.equal(profile.PayloadUUID, stableUuid(caFingerprint, 'profile:phone'));
    assert.equal(identity.PayloadUUID, stableUuid(caFingerprint, 'pkcs12:phone'));
    assert.equal(root.PayloadUUID, stableUuid(caFingerprint, 'root:phone'));
  });

  test('embeds a PKCS#12 that openssl opens with the password', () => {
    const profile = readWithPlistlib(buildMobileconfig(params()));
    const p12 = dataOf(payloadOf(profile, 'com.apple.security.pkcs12').PayloadContent);
    const ok = run('openssl', ['pkcs12', '-in', '-', '-nodes', '-passin', `file:${tempFile(P12_PASSWORD + '\n')}`], p12);
    assert.equal(ok.status, 0, ok.stderr);
    const out = ok.stdout.toString();
    assert.match(out, /-----BEGIN PRIVATE KEY-----/);
    assert.ok(out.includes(toPem(phone.der).trim().split('\n')[1]!), 'the device certificate is inside');
    const wrong = run('openssl', ['pkcs12', '-in', '-', '-nodes', '-passin', `file:${tempFile('wrong\n')}`], p12);
    assert.notEqual(wrong.status, 0);
  });

  test('carries the password only when given (--profile-password)', () => {
    const profile = readWithPlistlib(buildMobileconfig(params({ p12Password: P12_PASSWORD })));
    assert.equal(payloadOf(profile, 'com.apple.security.pkcs12').Password, P12_PASSWORD);
    assert.doesNotMatch(profile.PayloadDescription, /asked for the password/);
  });

  test('identifiers are stable for a device under a CA and differ between devices and CAs', () => {
    const first = readWithPlistlib(buildMobileconfig(params()));
    const reissued = readWithPlistlib(buildMobileconfig(params({ p12Der: makeP12(phone2, ca, 'another password') })));
    assert.notDeepEqual(
      payloadOf(first, 'com.apple.security.pkcs12').PayloadContent,
      payloadOf(reissued, 'com.apple.security.pkcs12').PayloadContent,
    );
    assert.deepEqual(identifiersOf(reissued), identifiersOf(first));

    const laptop = identifiersOf(readWithPlistlib(buildMobileconfig(params({ deviceName: 'laptop' }))));
    for (const value of laptop) assert.ok(!identifiersOf(first).includes(value), `${value} is shared with another device`);

    const underOtherCa = identifiersOf(
      readWithPlistlib(buildMobileconfig(params({ caCertDer: otherCa.der, caName: 'Other CA', caFingerprint: fingerprintOf(otherCa.der) }))),
    );
    for (const value of underOtherCa) assert.ok(!identifiersOf(first).includes(value), `${value} is shared with another CA`);
  });

  test('escapes names and organization for XML', () => {
    const organization = `Smith & Sons <"IT">`;
    const text = buildMobileconfig(params({ organization }));
    assert.doesNotMatch(text, /<Friends>|<"IT">/);
    assert.ok(text.includes('Café &amp; &lt;Friends&gt; "home" \'CA\''));
    const profile = readWithPlistlib(text);
    assert.equal(profile.PayloadOrganization, organization);
    assert.equal(payloadOf(profile, 'com.apple.security.root').PayloadDisplayName, CA_NAME);
    assert.equal(profile.PayloadDisplayName, `phone (${CA_NAME})`);
  });

  test('refuses a device name that is not a valid NAME', () => {
    for (const deviceName of ['a&b', '../phone', '', 'phone<1>']) {
      assert.throws(() => buildMobileconfig(params({ deviceName })), InvalidNameError);
    }
  });
});

// ---------------------------------------------------------------- signature

describe('signMobileconfig', () => {
  function signedProfile() {
    const profile = Buffer.from(buildMobileconfig(params()), 'utf8');
    const signed = signMobileconfig(profile, { certDer: signer.der, key: signer.key, chainDer: [ca.der] }, SIGNING_TIME);
    return { profile, signed };
  }

  test('openssl cms -verify accepts it against the CA and returns the profile bytes', () => {
    const { profile, signed } = signedProfile();
    const r = verifyCms(signed, join(dir, 'ca.pem'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Verification successful/);
    assert.ok(readFileSync(r.out).equals(profile));
  });

  test('is SignedData with SHA-256, the certificates as given, and DER-ordered signed attributes', () => {
    const { profile, signed } = signedProfile();
    const contentInfo = forge.asn1.fromDer(signed.toString('binary'));
    const [typeNode, explicitContent] = contentInfo.value as forge.asn1.Asn1[];
    assert.equal(forge.asn1.derToOid(typeNode!.value as string), forge.pki.oids.signedData);
    const signedData = (explicitContent!.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[];

    const certSet = signedData.find((n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 0)!;
    const certs = (certSet.value as forge.asn1.Asn1[]).map((c) => Buffer.from(forge.asn1.toDer(c).getBytes(), 'binary'));
    assert.equal(certs.length, 2);
    assert.ok(certs[0]!.equals(signer.der), 'signer certificate kept byte for byte');
    assert.ok(certs[1]!.equals(ca.der), 'chain certificate kept byte for byte');

    const signerInfos = signedData[signedData.length - 1]!.value as forge.asn1.Asn1[];
    assert.equal(signerInfos.length, 1);
    const signerInfo = signerInfos[0]!.value as forge.asn1.Asn1[];
    // Regression: forge re-encodes the issuer and UTF-8-encodes "Café" twice;
    // the sid must be the certificate's own issuer and serial bytes.
    const tbs = (forge.asn1.fromDer(signer.der.toString('binary')).value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[];
    const der = (n: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(n).getBytes(), 'binary');
    const [sidIssuer, sidSerial] = signerInfo[1]!.value as forge.asn1.Asn1[];
    assert.ok(der(sidIssuer!).equals(ca.subjectDer), 'sid issuer is the CA subject, byte for byte');
    assert.ok(der(sidSerial!).equals(der(tbs[1]!)), 'sid serial is the certificate serial');
    assert.equal(forge.asn1.derToOid((signerInfo[2]!.value as forge.asn1.Asn1[])[0]!.value as string), forge.pki.oids.sha256);
    const attrs = signerInfo.find((n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 0)!.value as forge.asn1.Asn1[];
    const encoded = attrs.map((a) => Buffer.from(forge.asn1.toDer(a).getBytes(), 'binary'));
    for (let i = 1; i < encoded.length; i++) assert.ok(Buffer.compare(encoded[i - 1]!, encoded[i]!) < 0, 'SET OF in DER order');

    const byOid = new Map(
      attrs.map((a) => {
        const [oidNode, values] = a.value as forge.asn1.Asn1[];
        return [forge.asn1.derToOid(oidNode!.value as string), (values!.value as forge.asn1.Asn1[])[0]!] as const;
      }),
    );
    assert.deepEqual([...byOid.keys()].sort(), [forge.pki.oids.contentType, forge.pki.oids.messageDigest, forge.pki.oids.signingTime].sort());
    assert.equal(forge.asn1.derToOid(byOid.get(forge.pki.oids.contentType)!.value as string), forge.pki.oids.data);
    assert.ok(Buffer.from(byOid.get(forge.pki.oids.messageDigest)!.value as string, 'binary').equals(createHash('sha256').update(profile).digest()));
    const time = byOid.get(forge.pki.oids.signingTime)!;
    assert.equal(time.type, forge.asn1.Type.UTCTIME);
    assert.equal(forge.asn1.utcTimeToDate(time.value as string).toISOString(), SIGNING_TIME.toISOString());
  });

  test('SHA-256 has no NULL parameters, in digestAlgorithms and the SignerInfo (RFC 5754 §2; issue 10)', () => {
    const { signed } = signedProfile();
    const r = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', tempFile(signed)]);
    assert.equal(r.status, 0, r.stderr);
    // openssl prints each AlgorithmIdentifier as "algorithm: ..." then "parameter: ...".
    const printed = r.stdout.toString();
    const algorithms = [...printed.matchAll(/algorithm: (\S+) \([\d.]+\)\s+parameter: ([^\n]+)/g)].map((m) => `${m[1]} ${m[2]!.trim()}`);
    const sha256 = algorithms.filter((a) => a.startsWith('sha256 '));
    assert.equal(sha256.length, 2, printed);
    assert.deepEqual(sha256, ['sha256 <ABSENT>', 'sha256 <ABSENT>']);
    assert.ok(algorithms.includes('rsaEncryption NULL'), 'the signature algorithm keeps its NULL (RFC 3370 §3.2)');
    assert.equal(verifyCms(signed, join(dir, 'ca.pem')).status, 0, 'and it still verifies');
  });

  test('a changed byte in the profile makes verification fail', () => {
    const { profile, signed } = signedProfile();
    const at = signed.indexOf(profile);
    assert.ok(at > 0, 'content is attached');
    const tampered = Buffer.from(signed);
    const i = at + profile.indexOf('PayloadDisplayName');
    tampered[i] = tampered[i]! ^ 0x20; // 'P' -> 'p': still valid XML, different bytes
    const r = verifyCms(tampered, join(dir, 'ca.pem'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /digest failure|Verification failure/i);
  });

  test('a signer from another CA does not verify against this CA', () => {
    const profile = Buffer.from(buildMobileconfig(params()), 'utf8');
    const signed = signMobileconfig(profile, { certDer: otherSigner.der, key: otherSigner.key, chainDer: [] }, SIGNING_TIME);
    const r = verifyCms(signed, join(dir, 'ca.pem'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unable to get local issuer certificate/);
  });

  // What a profile-signing certificate needs for `openssl cms -verify` with its
  // default purpose (smimesign): keyUsage digitalSignature or nonRepudiation,
  // and, when it has an EKU extension, emailProtection in it.
  const purposeCases: { what: string; ku: KeyUsageBit[]; eku?: string[]; verifies: boolean }[] = [
    { what: 'digitalSignature + emailProtection', ku: ['digitalSignature'], eku: [OID.emailProtection], verifies: true },
    { what: 'nonRepudiation + emailProtection', ku: ['nonRepudiation'], eku: [OID.emailProtection], verifies: true },
    { what: 'digitalSignature, no EKU extension', ku: ['digitalSignature'], verifies: true },
    { what: 'digitalSignature + clientAuth only', ku: ['digitalSignature'], eku: [OID.clientAuth], verifies: false },
    { what: 'digitalSignature + serverAuth only', ku: ['digitalSignature'], eku: [OID.serverAuth], verifies: false },
    { what: 'keyEncipherment + emailProtection', ku: ['keyEncipherment'], eku: [OID.emailProtection], verifies: false },
  ];
  for (const c of purposeCases) {
    test(`signer with ${c.what} ${c.verifies ? 'verifies' : 'fails the smimesign purpose'}`, () => {
      const cert = issue({ cn: c.what, key: signer.key, serial: 40 + purposeCases.indexOf(c), issuer: ca, ku: c.ku, eku: c.eku });
      const profile = Buffer.from(buildMobileconfig(params()), 'utf8');
      const r = verifyCms(signMobileconfig(profile, { certDer: cert.der, key: cert.key, chainDer: [] }, SIGNING_TIME), join(dir, 'ca.pem'));
      if (c.verifies) assert.equal(r.status, 0, r.stderr);
      else {
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /unsuitable certificate purpose/);
      }
    });
  }

  test('refuses a key that does not match the signer certificate', () => {
    const profile = Buffer.from('x');
    assert.throws(
      () => signMobileconfig(profile, { certDer: signer.der, key: ca.key, chainDer: [] }, SIGNING_TIME),
      /does not match its certificate/,
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.throws(() => signMobileconfig(profile, { certDer: signer.der, key: ec, chainDer: [] }, SIGNING_TIME), /RSA private key/);
  });
});
