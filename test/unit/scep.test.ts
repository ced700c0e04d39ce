/**
 * The SCEP message layer (src/formats/scep.ts) against messages it did not
 * make: PKCSReq messages Debian's scepclient sent (test/fixtures/scep/, see
 * the README there), EnvelopedData and SignedData made by `openssl cms`; and
 * its CertRep read back by `openssl cms` (signature verified under the CA,
 * envelope decrypted with the requester's key, certificates listed).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidScepMessageError } from '../../src/errors';
import { parseCsr } from '../../src/formats/csr';
import { buildCertRep, CA_CAPS, openEnvelope, parsePkiMessage, pkiMessageFromGet, type ContentCipher } from '../../src/formats/scep';
import { openssl, ROOT, tempDir } from '../helpers/cli';
import { requireTool } from '../helpers/tools';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'scep');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const caCertDer = new X509Certificate(fixture('ca.pem')).raw;
const caKey = createPrivateKey(fixture('ca.key.pem'));
const ca = { certDer: caCertDer, key: caKey };

const refused = (what: RegExp, failInfo?: string) => (error: unknown) => {
  assert.ok(error instanceof InvalidScepMessageError, String(error));
  assert.match(error.message, what);
  if (failInfo) assert.equal(error.failInfo, failInfo);
  return true;
};

describe('SCEP PKCSReq from Debian scepclient (fixtures)', () => {
  for (const [file, key, cn] of [
    ['pkcsreq-nocaps.der', 'requester-nocaps.key.pem', 'dev1'],
    ['pkcsreq-caps.der', 'requester-caps.key.pem', 'dev2'],
  ] as const) {
    test(`${file}: signature verified, attributes read, envelope opened (DES-CBC), CSR with the challenge`, () => {
      const msg = parsePkiMessage(fixture(file));
      assert.equal(msg.messageType, 19);
      assert.match(msg.transactionId, /^[A-Za-z0-9+/=]{20,}$/);
      assert.ok(msg.senderNonce.length >= 8);
      const requesterSpki = createPublicKey(createPrivateKey(fixture(key))).export({ type: 'spki', format: 'der' });
      assert.ok(msg.signerKey.export({ type: 'spki', format: 'der' }).equals(requesterSpki), 'the signer is the key scepclient made');
      const opened = openEnvelope(msg.envelope, ca, randomBytes);
      assert.equal(opened.cipher, 'des-cbc');
      const csr = parseCsr(opened.content);
      assert.equal(csr.challengePassword, 's3cret-challenge');
      assert.equal(csr.commonName, cn);
      assert.ok(csr.spkiDer.equals(requesterSpki));
    });
  }

  test('a changed signature byte: refused as a signature that does not verify', () => {
    const der = Buffer.from(fixture('pkcsreq-nocaps.der'));
    der[der.length - 5]! ^= 0x01;
    assert.throws(() => parsePkiMessage(der), refused(/signature does not verify/, 'badMessageCheck'));
  });

  test('a changed byte of the signed content: refused by the message digest', () => {
    const der = Buffer.from(fixture('pkcsreq-nocaps.der'));
    der[400]! ^= 0x01; // inside the encrypted content of the envelope
    assert.throws(() => parsePkiMessage(der), refused(/digest does not match/));
  });

  test('truncated, empty, trailing bytes, not DER at all: refused as malformed, never thrown as something else', () => {
    const der = fixture('pkcsreq-nocaps.der');
    for (const bad of [der.subarray(0, der.length - 1), Buffer.alloc(0), Buffer.concat([der, Buffer.from([0])]), Buffer.from('hello world, not a message')]) {
      assert.throws(() => parsePkiMessage(bad), (e: unknown) => e instanceof InvalidScepMessageError);
    }
  });

  test('the envelope opened with another CA key: refused (encrypted to another CA)', (t) => {
    if (!requireTool(t, 'openssl')) return;
    const dir = tempDir();
    try {
      const r = openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k'), '-subj', '/CN=Other CA', '-days', '2', '-out', join(dir, 'c')]);
      assert.equal(r.code, 0, r.stderr);
      const other = { certDer: new X509Certificate(readFileSync(join(dir, 'c'))).raw, key: createPrivateKey(readFileSync(join(dir, 'k'))) };
      const msg = parsePkiMessage(fixture('pkcsreq-nocaps.der'));
      assert.throws(() => openEnvelope(msg.envelope, other, randomBytes), refused(/another CA/, 'badMessageCheck'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SCEP envelopes and signatures made by openssl cms', () => {
  const csrDer = () => {
    const msg = parsePkiMessage(fixture('pkcsreq-nocaps.der'));
    return openEnvelope(msg.envelope, ca, randomBytes).content;
  };

  for (const [flag, cipher] of [
    ['-des3', 'des-ede3-cbc'],
    ['-aes128', 'aes-128-cbc'],
    ['-aes256', 'aes-256-cbc'],
  ] as const) {
    test(`openssl cms -encrypt ${flag} to the CA: opened to the same bytes (${cipher})`, (t) => {
      if (!requireTool(t, 'openssl')) return;
      const dir = tempDir();
      try {
        writeFileSync(join(dir, 'csr.der'), csrDer());
        const r = openssl(['cms', '-encrypt', '-binary', flag, '-in', join(dir, 'csr.der'), '-outform', 'DER', '-out', join(dir, 'env.der'), join(FIXTURES, 'ca.pem')]);
        assert.equal(r.code, 0, r.stderr);
        const opened = openEnvelope(readFileSync(join(dir, 'env.der')), ca, randomBytes);
        assert.equal(opened.cipher, cipher);
        assert.ok(opened.content.equals(csrDer()));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('openssl cms -sign (no SCEP attributes): the signature verifies, then it is refused for its missing messageType; a changed byte fails the signature', (t) => {
    if (!requireTool(t, 'openssl')) return;
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'data'), 'some content');
      const r = openssl(['cms', '-sign', '-binary', '-nodetach', '-md', 'sha256', '-in', join(dir, 'data'), '-signer', join(FIXTURES, 'ca.pem'), '-inkey', join(FIXTURES, 'ca.key.pem'), '-outform', 'DER', '-out', join(dir, 'signed.der')]);
      assert.equal(r.code, 0, r.stderr);
      const der = readFileSync(join(dir, 'signed.der'));
      assert.throws(() => parsePkiMessage(der), refused(/no messageType/));
      const changed = Buffer.from(der);
      changed[changed.length - 3]! ^= 0x40;
      assert.throws(() => parsePkiMessage(changed), refused(/signature does not verify/));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CertRep read by openssl cms', () => {
  const request = parsePkiMessage(fixture('pkcsreq-nocaps.der'));
  const issuedDer = new X509Certificate(fixture('ca.pem')).raw; // any certificate will do as the payload

  const withDir = (t: { diagnostic: (m: string) => void }, body: (dir: string) => void) => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'ca.pem'), fixture('ca.pem'));
      body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const verifyAndPrint = (dir: string, rep: Buffer) => {
    writeFileSync(join(dir, 'rep.der'), rep);
    const v = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, 'rep.der'), '-CAfile', join(dir, 'ca.pem'), '-purpose', 'any', '-out', join(dir, 'content.der')]);
    assert.equal(v.code, 0, v.stderr);
    const printed = openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(dir, 'rep.der')]);
    assert.equal(printed.code, 0, printed.stderr);
    return printed.stdout;
  };

  for (const cipher of ['aes-128-cbc', 'des-ede3-cbc'] as ContentCipher[]) {
    test(`SUCCESS (${cipher}): signed by the CA, nonces and transaction echoed, envelope decrypts with the requester key to the certificate`, (t) => {
      if (!requireTool(t, 'openssl')) return;
      withDir(t, (dir) => {
        const rep = buildCertRep({ request, result: { status: 'SUCCESS', certificatesDer: [issuedDer], cipher }, ca, randomBytes });
        const printed = verifyAndPrint(dir, rep);
        assert.match(printed, /2\.16\.840\.1\.113733\.1\.9\.2[\s\S]*?PRINTABLESTRING:3/, 'messageType CertRep');
        assert.match(printed, /2\.16\.840\.1\.113733\.1\.9\.3[\s\S]*?PRINTABLESTRING:0/, 'pkiStatus SUCCESS');
        assert.match(printed, new RegExp(`PRINTABLESTRING:${request.transactionId.replace(/[+/=]/g, '\\$&')}`), 'transactionID echoed');
        const back = parsePkiMessage(rep);
        assert.equal(back.messageType, 3);
        assert.equal(back.transactionId, request.transactionId);
        // recipientNonce = the request's senderNonce
        assert.ok(rep.includes(Buffer.concat([Buffer.from([0x04, request.senderNonce.length]), request.senderNonce])));
        const d = openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', join(dir, 'content.der'), '-inkey', join(FIXTURES, 'requester-nocaps.key.pem'), '-out', join(dir, 'p7.der')]);
        assert.equal(d.code, 0, d.stderr);
        const certs = openssl(['pkcs7', '-inform', 'DER', '-in', join(dir, 'p7.der'), '-print_certs']);
        assert.equal(certs.code, 0, certs.stderr);
        assert.ok(new X509Certificate(certs.stdout).raw.equals(issuedDer));
      });
    });
  }

  test('SUCCESS with DES-CBC (what scepclient asked with): opened again by this module', () => {
    // openssl 3 reads DES only with its legacy provider; the round trip is checked through openEnvelope instead.
    const rep = buildCertRep({ request, result: { status: 'SUCCESS', certificatesDer: [issuedDer], cipher: 'des-cbc' }, ca, randomBytes });
    const back = parsePkiMessage(rep);
    const requester = { certDer: request.signerCertDer, key: createPrivateKey(fixture('requester-nocaps.key.pem')) };
    const opened = openEnvelope(back.envelope, requester, randomBytes);
    assert.equal(opened.cipher, 'des-cbc');
    assert.ok(opened.content.includes(issuedDer));
  });

  test('FAILURE badRequest: signed by the CA, pkiStatus 2, failInfo 2, empty content', (t) => {
    if (!requireTool(t, 'openssl')) return;
    withDir(t, (dir) => {
      const rep = buildCertRep({ request, result: { status: 'FAILURE', failInfo: 'badRequest' }, ca, randomBytes });
      const printed = verifyAndPrint(dir, rep);
      assert.match(printed, /2\.16\.840\.1\.113733\.1\.9\.3[\s\S]*?PRINTABLESTRING:2/, 'pkiStatus FAILURE');
      assert.match(printed, /2\.16\.840\.1\.113733\.1\.9\.4[\s\S]*?PRINTABLESTRING:2/, 'failInfo badRequest');
      assert.equal(readFileSync(join(dir, 'content.der')).length, 0);
    });
  });

  test('GetCACaps names what is implemented', () => {
    for (const cap of ['POSTPKIOperation', 'SHA-256', 'AES', 'DES3', 'SCEPStandard']) assert.ok(CA_CAPS.includes(cap), cap);
  });
});

describe('the SCEP profile, key by key against Apple\'s schema', () => {
  /**
   * PayloadContent keys of com.apple.security.scep, transcribed from
   * apple/device-management mdm/profiles/com.apple.security.scep.yaml
   * (commit 0a4527c5ea21825fd23e08273ccdb9e2302458ce): key -> plist type.
   */
  const SCHEMA: Record<string, 'string' | 'integer' | 'array' | 'data' | 'boolean' | 'dict'> = {
    URL: 'string',
    Name: 'string',
    Subject: 'array',
    Challenge: 'string',
    Keysize: 'integer',
    'Key Type': 'string',
    'Key Usage': 'integer',
    CAFingerprint: 'data',
    Retries: 'integer',
    RetryDelay: 'integer',
    SubjectAltName: 'dict',
    KeyIsExtractable: 'boolean',
    AllowAllAppsAccess: 'boolean',
  };
  const typeOf = (v: unknown) =>
    typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'boolean' : Number.isInteger(v) ? 'integer' : Array.isArray(v) ? 'array' : v && typeof v === 'object' && '$data' in v ? 'data' : 'dict';

  const build = async (challenge: string) => {
    const { buildScepMobileconfig } = await import('../../src/formats/mobileconfig');
    return buildScepMobileconfig({
      deviceName: 'alice-iphone',
      url: 'http://192.168.1.23:41234/qK3v_x-9ZbYtR2mNpLw8sHc4/scep',
      challenge,
      keySize: 2048,
      caCertDer,
      caName: 'Fixture-CA',
      caFingerprint: new X509Certificate(fixture('ca.pem')).fingerprint256,
    });
  };

  test('every key is one of the schema with its type; the required URL is there; values as SPEC asks', async (t) => {
    if (!requireTool(t, 'python3')) return;
    const { readPlistWithPython } = await import('../helpers/plist');
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'p.mobileconfig'), await build('0123456789abcdef0123456789abcdef'));
      const plist = readPlistWithPython(join(dir, 'p.mobileconfig'));
      const scep = plist.PayloadContent.find((p: { PayloadType: string }) => p.PayloadType === 'com.apple.security.scep');
      const root = plist.PayloadContent.find((p: { PayloadType: string }) => p.PayloadType === 'com.apple.security.root');
      assert.ok(scep && root, 'a SCEP payload and the root payload');
      for (const [key, value] of Object.entries(scep.PayloadContent)) {
        assert.ok(key in SCHEMA, `${key} is not in Apple's schema`);
        assert.equal(typeOf(value), SCHEMA[key], key);
      }
      const c = scep.PayloadContent;
      assert.equal(c.URL, 'http://192.168.1.23:41234/qK3v_x-9ZbYtR2mNpLw8sHc4/scep');
      assert.deepEqual(c.Subject, [[['CN', 'alice-iphone']]]);
      assert.ok([1024, 2048, 4096].includes(c.Keysize), 'Keysize from the rangelist');
      assert.equal(c['Key Type'], 'RSA', 'the schema: always RSA');
      assert.equal(c['Key Usage'], 5, 'signing (1) and encryption (4)');
      assert.equal(Buffer.from(c.CAFingerprint.$data, 'base64').length, 20);
      assert.ok(Buffer.from(root.PayloadContent.$data, 'base64').equals(caCertDer));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('identifiers are stable per device: another challenge, same identifiers; the top level is the one `issue` gives the device', async () => {
    const ids = (xml: string) => [...xml.matchAll(/<key>Payload(?:Identifier|UUID)<\/key>\s*<string>([^<]+)<\/string>/g)].map((m) => m[1]);
    const a = await build('0123456789abcdef0123456789abcdef');
    const b = await build('fedcba9876543210fedcba9876543210');
    assert.notEqual(a, b);
    assert.deepEqual(ids(a), ids(b));
    const { buildMobileconfig } = await import('../../src/formats/mobileconfig');
    const issued = buildMobileconfig({ deviceName: 'alice-iphone', p12Der: Buffer.from([0x30, 0]), caCertDer, caName: 'Fixture-CA', caFingerprint: new X509Certificate(fixture('ca.pem')).fingerprint256 });
    const top = (xml: string) => ids(xml).slice(-2);
    assert.deepEqual(top(a), top(issued), 'a SCEP profile replaces the PKCS#12 profile of the same device');
  });
});

describe('PKIOperation by GET', () => {
  const der = fixture('pkcsreq-nocaps.der');
  test('standard base64, URL-safe base64 (what scepclient sends), and a "+" turned into a space by form decoding: the same bytes', () => {
    const standard = der.toString('base64');
    assert.ok(standard.includes('+') || standard.includes('/'), 'the fixture exercises both alphabets');
    assert.ok(pkiMessageFromGet(standard)?.equals(der));
    assert.ok(pkiMessageFromGet(der.toString('base64url') + '='.repeat((4 - (der.toString('base64url').length % 4)) % 4))?.equals(der));
    assert.ok(pkiMessageFromGet(new URLSearchParams(`message=${standard}`).get('message')!)?.equals(der));
  });
  test('anything else is not a message', () => {
    for (const bad of ['', 'a b$c', '<script>', 'abc===']) assert.equal(pkiMessageFromGet(bad), undefined, bad);
  });
});
