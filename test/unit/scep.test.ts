/**
 * The SCEP message layer (src/formats/scep.ts) against messages it did not
 * make: PKCSReq messages Debian's scepclient sent (test/fixtures/scep/, see
 * the README there), EnvelopedData and SignedData made by `openssl cms`; and
 * its CertRep read back by `openssl cms` (signature verified under the CA,
 * envelope decrypted with the requester's key, certificates listed).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createCipheriv, createPrivateKey, createPublicKey, publicEncrypt, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidScepMessageError } from '../../src/errors';
import { parseCsr } from '../../src/formats/csr';
import { constructed, encodeLength, explicit, nullValue, octetString, oid, sequence, set, smallInteger, tlv } from '../../src/formats/der';
import { checkDerBounds, DerError } from '../../src/formats/der-reader';
import { buildCertRep, CA_CAPS, issuerAndSerialOf, openEnvelope, parsePkiMessage, pkiMessageFromGet, substituteKey, type ContentCipher } from '../../src/formats/scep';
import { openssl, ROOT, tempDir } from '../helpers/cli';
import { nestedOctetStringMessage } from '../helpers/scep-request';
import { requireTool } from '../helpers/tools';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'scep');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const caCertDer = new X509Certificate(fixture('ca.pem')).raw;
const caKey = createPrivateKey(fixture('ca.key.pem'));
const ca = { certDer: caCertDer, key: caKey };
/** An enrollment's implicit-rejection secret. */
const SECRET = randomBytes(32);

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
      const opened = openEnvelope(msg.envelope, ca, SECRET);
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
      assert.throws(() => openEnvelope(msg.envelope, other, SECRET), refused(/another CA/, 'badMessageCheck'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SCEP envelopes and signatures made by openssl cms', () => {
  const csrDer = () => {
    const msg = parsePkiMessage(fixture('pkcsreq-nocaps.der'));
    return openEnvelope(msg.envelope, ca, SECRET).content;
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
        const opened = openEnvelope(readFileSync(join(dir, 'env.der')), ca, SECRET);
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
    const opened = openEnvelope(back.envelope, requester, SECRET);
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

describe('messages are bounded before any cryptography (issue 16, item 5)', () => {
  test('~3,000 nested constructed OCTET STRINGs as the eContent of a bare SignedData: refused as malformed at once, no stack overflow', () => {
    for (const depth of [2_500, 3_000]) {
      const message = nestedOctetStringMessage(depth);
      const started = process.hrtime.bigint();
      assert.throws(() => parsePkiMessage(message), refused(/nested deeper than 24/, 'badMessageCheck'), String(depth));
      assert.ok(process.hrtime.bigint() - started < 200_000_000n, 'refused in well under 200 ms');
    }
    // 20 levels is within the bound: read, then refused for what it lacks, not for its shape.
    assert.throws(() => parsePkiMessage(nestedOctetStringMessage(15)), refused(/no signed attributes/));
  });

  test('more DER elements than the bound, or more than 8 certificates: refused before any signature is checked', () => {
    const real = fixture('pkcsreq-nocaps.der');
    const signerCert = parsePkiMessage(real).signerCertDer;
    const withCerts = (certs: Buffer[]) => sequence(oid('1.2.840.113549.1.7.2'), explicit(0, sequence(smallInteger(1), set(), sequence(oid('1.2.840.113549.1.7.1')), constructed(0xa0, certs), set(sequence()))));
    assert.throws(() => parsePkiMessage(withCerts(Array.from({ length: 9 }, () => signerCert))), refused(/(9 certificates|more than 1024 DER elements)/));
    assert.throws(() => parsePkiMessage(withCerts(Array.from({ length: 1_100 }, () => sequence()))), refused(/more than 1024 DER elements/));
  });

  test('checkDerBounds: the outermost value is depth 1; at the bound passes, one more fails; trailing bytes fail; 100,000 levels walk without recursion', () => {
    /** `depth - 1` SEQUENCEs around an OCTET STRING, written in one pass (the headers from the inside out). */
    const nest = (depth: number) => {
      const core = octetString(Buffer.from('x'));
      const headers: Buffer[] = [];
      let length = core.length;
      for (let i = 1; i < depth; i++) {
        const header = Buffer.concat([Buffer.from([0x30]), encodeLength(length)]);
        headers.push(header);
        length += header.length;
      }
      return Buffer.concat([...headers.reverse(), core]);
    };
    checkDerBounds(nest(24), { maxDepth: 24, maxElements: 100 });
    assert.throws(() => checkDerBounds(nest(25), { maxDepth: 24, maxElements: 100 }), DerError);
    assert.throws(() => checkDerBounds(nest(10), { maxDepth: 24, maxElements: 9 }), /more than 9 DER elements/);
    assert.throws(() => checkDerBounds(Buffer.concat([nest(3), Buffer.from([0])]), { maxDepth: 24, maxElements: 100 }), /trailing/);
    const deep = nest(100_000);
    assert.throws(() => checkDerBounds(deep, { maxDepth: 24, maxElements: 1e6 }), /nested deeper/);
    checkDerBounds(deep, { maxDepth: 100_000, maxElements: 1e6 });
  });
});

describe('implicit rejection is deterministic (issue 16, item 6)', () => {
  /**
   * A pkcsPKIEnvelope to the fixture CA whose RSA block is not PKCS#1 v1.5
   * type 2 (its second byte is 1), around one AES-128 block: a substitute
   * key "decrypts" it with a valid CBC padding about once in 256 keys.
   */
  const nonConforming = (encryptedContent: Buffer, iv: Buffer) => {
    const block = randomBytes(256);
    block[0] = 0;
    block[1] = 1;
    const encryptedKey = publicEncrypt({ key: createPublicKey(caKey), padding: constants.RSA_NO_PADDING }, block);
    const recipient = sequence(smallInteger(0), issuerAndSerialOf(caCertDer), sequence(oid('1.2.840.113549.1.1.1'), nullValue()), octetString(encryptedKey));
    const content = sequence(oid('1.2.840.113549.1.7.1'), sequence(oid('2.16.840.1.101.3.4.1.2'), octetString(iv)), tlv(0x80, encryptedContent));
    return { envelope: sequence(oid('1.2.840.113549.1.7.3'), explicit(0, sequence(smallInteger(0), set(recipient), content))), encryptedKey };
  };
  const answer = (envelope: Buffer, secret: Buffer): string => {
    try {
      return `opened ${openEnvelope(envelope, ca, secret).content.toString('hex')}`;
    } catch (error) {
      assert.ok(error instanceof InvalidScepMessageError, String(error));
      return `refused ${error.failInfo}: ${error.message}`;
    }
  };

  test('one non-conforming ciphertext gets the same answer 1,500 times (a random substitute "decrypts" it now and then)', () => {
    const { envelope } = nonConforming(randomBytes(16), randomBytes(16));
    const answers = new Set<string>();
    for (let i = 0; i < 1_500; i++) answers.add(answer(envelope, SECRET));
    assert.equal(answers.size, 1, [...answers].join('\n'));
  });

  test('the substitute key is HMAC-SHA256 of the ciphertext under the enrollment secret: content sealed under it opens every time, and not under another secret', () => {
    const iv = randomBytes(16);
    const csr = Buffer.from('a CSR would be here');
    // Two passes: the ciphertext first (the key depends on it), then the content under that key.
    const probe = nonConforming(Buffer.alloc(16), iv);
    const key = substituteKey(SECRET, probe.encryptedKey, 16);
    const cipher = createCipheriv('aes-128-cbc', key, iv);
    const sealed = Buffer.concat([cipher.update(csr), cipher.final()]);
    const rebuilt = sequence(
      oid('1.2.840.113549.1.7.3'),
      explicit(0, sequence(smallInteger(0), set(sequence(smallInteger(0), issuerAndSerialOf(caCertDer), sequence(oid('1.2.840.113549.1.1.1'), nullValue()), octetString(probe.encryptedKey))), sequence(oid('1.2.840.113549.1.7.1'), sequence(oid('2.16.840.1.101.3.4.1.2'), octetString(iv)), tlv(0x80, sealed)))),
    );
    for (let i = 0; i < 20; i++) assert.equal(answer(rebuilt, SECRET), `opened ${csr.toString('hex')}`);
    assert.notEqual(answer(rebuilt, randomBytes(32)), `opened ${csr.toString('hex')}`, 'another enrollment, another substitute');
    assert.throws(() => openEnvelope(rebuilt, ca, Buffer.alloc(16)), RangeError, 'a short secret is a bug');
  });
});
